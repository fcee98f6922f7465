using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace TaskDispatch;

/// <summary>The one writer of a store's file: takes writes from a queue in the order they were made and applies as many
/// as are waiting (up to the batch size) in one transaction, so that concurrent submitters share one commit; each
/// waiter is told once its commit is durable, or why it failed.</summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly SqliteConnection _connection;
    private readonly string _path;
    private readonly SqliteTaskStoreOptions _options;
    private readonly Channel<Write> _queue = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteCommand _add;
    private readonly SqliteCommand _start;
    private readonly SqliteCommand _end;
    private readonly SqliteCommand _saveCheckpoint;
    private readonly SqliteCommand _deleteCheckpoint;
    private readonly SqliteCommand _leftUnfinished;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Until a dispatcher opens the store, compaction keeps every ended task.</summary>
    private long _retentionTicks = long.MaxValue / 2;
    private long _lastCompaction;
    private long _commits;

    internal SqliteWriter(SqliteConnection connection, string path, SqliteTaskStoreOptions options)
    {
        _connection = connection;
        _path = path;
        _options = options;
        _add = Prepare("""
            INSERT INTO tasks (id, sequence, handler, input, options, priority, deadline, caller_id, submitted_at, ready_at)
            VALUES ($id, $sequence, $handler, $input, $options, $priority, $deadline, $caller_id, $submitted_at, $ready_at)
            ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, handler = excluded.handler, input = excluded.input,
                options = excluded.options, priority = excluded.priority, deadline = excluded.deadline, caller_id = excluded.caller_id,
                submitted_at = excluded.submitted_at, ready_at = excluded.ready_at, attempts = 0, last_node = NULL, started_at = NULL,
                state = NULL, result = NULL, error_type = NULL, error_message = NULL, failures = NULL, ended_at = NULL;
            """, "$id", "$sequence", "$handler", "$input", "$options", "$priority", "$deadline", "$caller_id", "$submitted_at", "$ready_at");
        _start = Prepare(
            "UPDATE tasks SET attempts = $attempt, last_node = $node, started_at = COALESCE(started_at, $at), failures = COALESCE($failures, failures) WHERE id = $id AND sequence = $sequence AND state IS NULL;",
            "$id", "$sequence", "$attempt", "$node", "$at", "$failures");
        _end = Prepare("""
            UPDATE tasks SET state = $state, result = $result, error_type = $error_type, error_message = $error_message,
                failures = $failures, attempts = MAX(attempts, $attempts), ended_at = $ended_at
            WHERE id = $id AND sequence = $sequence AND state IS NULL;
            """, "$id", "$sequence", "$state", "$result", "$error_type", "$error_message", "$failures", "$attempts", "$ended_at");
        _saveCheckpoint = Prepare("""
            INSERT INTO checkpoints (task_id, incarnation, attempt, data, saved_at) VALUES ($id, $incarnation, $attempt, $data, $saved_at)
            ON CONFLICT (task_id) DO UPDATE SET incarnation = excluded.incarnation, attempt = excluded.attempt, data = excluded.data, saved_at = excluded.saved_at
            WHERE excluded.incarnation <> checkpoints.incarnation OR excluded.attempt >= checkpoints.attempt;
            """, "$id", "$incarnation", "$attempt", "$data", "$saved_at");
        _deleteCheckpoint = Prepare("DELETE FROM checkpoints WHERE task_id = $id;", "$id");
        _leftUnfinished = Prepare(
            "UPDATE tasks SET concluded = $concluded, failures = COALESCE($failures, failures) WHERE id = $id AND sequence = $sequence AND state IS NULL;",
            "$id", "$sequence", "$concluded", "$failures");
        _lastCompaction = options.TimeProvider.GetTimestamp();
        // A thread of its own: a commit blocks for the disk's flush, which should not hold a thread-pool thread.
        new Thread(Run) { IsBackground = true, Name = "TaskDispatch.Sqlite writer" }.Start();
    }

    /// <summary>Gets how many transactions were committed.</summary>
    internal long Commits => Volatile.Read(ref _commits);

    /// <summary>Sets the retention that compaction applies.</summary>
    internal TimeSpan Retention
    {
        set => Volatile.Write(ref _retentionTicks, value.Ticks);
    }

    internal Task Add(StoredTask task) => Enqueue(new Write(WriteKind.Add, task.Id) { Task = task }, awaited: true);

    internal Task AttemptStarted(string taskId, long sequenceNumber, int attempt, string nodeName, DateTimeOffset startedAt, IReadOnlyList<StoredAttemptFailure> failures) =>
        Enqueue(new Write(WriteKind.Start, taskId) { Sequence = sequenceNumber, Attempt = attempt, Node = nodeName, At = startedAt, Failures = failures }, awaited: true);

    internal Task LeftUnfinished(string taskId, long sequenceNumber, int concludedAttempts, IReadOnlyList<StoredAttemptFailure> failures) =>
        Enqueue(new Write(WriteKind.LeftUnfinished, taskId) { Sequence = sequenceNumber, Attempt = concludedAttempts, Failures = failures }, awaited: true);

    internal Task End(TaskOutcome outcome) => Enqueue(new Write(WriteKind.End, outcome.TaskId) { Outcome = outcome }, awaited: true);

    internal Task SaveCheckpoint(TaskCheckpoint checkpoint) => Enqueue(new Write(WriteKind.SaveCheckpoint, checkpoint.TaskId) { Checkpoint = checkpoint }, awaited: true);

    internal Task DeleteCheckpoint(string taskId) => Enqueue(new Write(WriteKind.DeleteCheckpoint, taskId), awaited: true);

    /// <summary>Compacts now: ended tasks past retention or beyond the most kept go, with their checkpoints.</summary>
    internal Task Compact() => Enqueue(new Write(WriteKind.Compact, string.Empty), awaited: true);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
        foreach (var command in new[] { _add, _start, _end, _saveCheckpoint, _deleteCheckpoint, _leftUnfinished })
        {
            command.Dispose();
        }
    }

    private Task Enqueue(Write write, bool awaited)
    {
        if (awaited)
        {
            write.Done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        if (!_queue.Writer.TryWrite(write))
        {
            var error = new ObjectDisposedException(nameof(SqliteTaskStore), $"The task store '{_path}' is closed.");
            return awaited ? Task.FromException(error) : Task.CompletedTask;
        }

        return write.Done?.Task ?? Task.CompletedTask;
    }

    private void Run()
    {
        try
        {
            var reader = _queue.Reader;
            var batch = new List<Write>(Math.Min(_options.MaxBatchSize, 1024));
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var write))
                {
                    batch.Add(write);
                }

                if (_options.TimeProvider.GetElapsedTime(_lastCompaction) >= _options.CompactionInterval)
                {
                    batch.Add(new Write(WriteKind.Compact, string.Empty));
                    _lastCompaction = _options.TimeProvider.GetTimestamp();
                }

                Commit(batch);
            }
        }
        catch (Exception exception)
        {
            // Commit contains its own errors; anything else would leave every later write waiting forever. Refuse them
            // instead, and fail the ones already queued.
            var error = SqliteErrors.Wrap(exception, _path, "running its writer");
            _queue.Writer.TryComplete(error);
            while (_queue.Reader.TryRead(out var write))
            {
                write.Done?.TrySetException(error);
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void Commit(List<Write> batch)
    {
        SqliteTransaction? transaction = null;
        try
        {
            transaction = _connection.BeginTransaction();
            foreach (var write in batch)
            {
                Apply(write, transaction);
            }

            transaction.Commit();
            Volatile.Write(ref _commits, _commits + 1);
        }
        catch (Exception exception)
        {
            try
            {
                transaction?.Rollback();
            }
            catch (SqliteException)
            {
                // SQLite may have rolled back already (a full disk does); the commit's own error is the one to report.
            }

            var error = SqliteErrors.Wrap(exception, _path, "writing tasks");
            foreach (var write in batch)
            {
                write.Done?.TrySetException(error);
            }

            return;
        }
        finally
        {
            try
            {
                transaction?.Dispose();
            }
            catch (SqliteException)
            {
                // Disposing rolls back what was not committed; a connection that failed may refuse even that.
            }
        }

        foreach (var write in batch)
        {
            write.Done?.TrySetResult();
        }
    }

    private void Apply(Write write, SqliteTransaction transaction)
    {
        switch (write.Kind)
        {
            case WriteKind.Add:
                var task = write.Task!;
                Run(_add, transaction, task.Id, task.SequenceNumber, task.Handler, task.Input, task.Options, task.Priority,
                    task.Deadline?.UtcTicks, task.HasCallerId ? 1 : 0, task.SubmittedAt.UtcTicks, task.ReadyAt.UtcTicks);
                break;
            case WriteKind.Start:
                Run(_start, transaction, write.TaskId, write.Sequence, write.Attempt, write.Node, write.At.UtcTicks, FailuresJson(write.Failures));
                break;
            case WriteKind.End:
                var outcome = write.Outcome!;
                Run(_end, transaction, outcome.TaskId, outcome.SequenceNumber, (int)outcome.State, outcome.Result, outcome.ErrorType, outcome.ErrorMessage, FailuresJson(outcome.Failures), outcome.Attempts, outcome.EndedAt.UtcTicks);
                break;
            case WriteKind.LeftUnfinished:
                Run(_leftUnfinished, transaction, write.TaskId, write.Sequence, write.Attempt, FailuresJson(write.Failures));
                break;
            case WriteKind.SaveCheckpoint:
                var checkpoint = write.Checkpoint!;
                Run(_saveCheckpoint, transaction, checkpoint.TaskId, checkpoint.Incarnation, checkpoint.Attempt, checkpoint.Data.ToArray(), checkpoint.SavedAt.UtcTicks);
                break;
            case WriteKind.DeleteCheckpoint:
                Run(_deleteCheckpoint, transaction, write.TaskId);
                break;
            case WriteKind.Compact:
                CompactIn(transaction);
                break;
        }
    }

    private void CompactIn(SqliteTransaction transaction)
    {
        var cutoff = _options.TimeProvider.GetUtcNow().UtcTicks - Volatile.Read(ref _retentionTicks);
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE meta SET value = MAX(value, COALESCE((SELECT MAX(sequence) FROM tasks), 0)) WHERE key = 'last_sequence';
            DELETE FROM tasks WHERE state IS NOT NULL AND ended_at < $cutoff;
            DELETE FROM tasks WHERE state IS NOT NULL AND ($max = 0 OR ended_at <
                (SELECT ended_at FROM tasks WHERE state IS NOT NULL ORDER BY ended_at DESC LIMIT 1 OFFSET $max - 1));
            DELETE FROM checkpoints WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.id = checkpoints.task_id);
            """;
        command.Parameters.AddWithValue("$cutoff", cutoff);
        command.Parameters.AddWithValue("$max", _options.MaxEndedTasks);
        command.ExecuteNonQuery();
    }

    private static string? FailuresJson(IReadOnlyList<StoredAttemptFailure>? failures) =>
        failures is null || failures.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize([.. failures], SqliteJsonContext.Default.ListStoredAttemptFailure);

    private static void Run(SqliteCommand command, SqliteTransaction transaction, params object?[] values)
    {
        command.Transaction = transaction;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        command.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = parameter });
        }

        return command;
    }

    private enum WriteKind
    {
        Add,
        Start,
        End,
        LeftUnfinished,
        SaveCheckpoint,
        DeleteCheckpoint,
        Compact,
    }

    /// <summary>One write, and whoever waits for its commit.</summary>
    private sealed class Write(WriteKind kind, string taskId)
    {
        public WriteKind Kind { get; } = kind;

        public string TaskId { get; } = taskId;

        public StoredTask? Task { get; init; }

        public TaskOutcome? Outcome { get; init; }

        public TaskCheckpoint? Checkpoint { get; init; }

        public int Attempt { get; init; }

        public long Sequence { get; init; }

        public string? Node { get; init; }

        public DateTimeOffset At { get; init; }

        public IReadOnlyList<StoredAttemptFailure>? Failures { get; init; }

        public TaskCompletionSource? Done { get; set; }
    }
}
