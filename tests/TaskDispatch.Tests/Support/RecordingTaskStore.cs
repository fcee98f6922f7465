using System.Collections.Concurrent;

namespace TaskDispatch.Tests.Support;

/// <summary>A task store in memory that survives "restarts" (new dispatchers over the same instance) and records the
/// order of what it was told; for testing the engine's side of the store seam without a database.</summary>
public sealed class RecordingTaskStore : ITaskStore
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);

    /// <summary>Gets what the store was told, in order: "add:{id}", "start:{id}:{attempt}", "end:{id}:{state}".</summary>
    public ConcurrentQueue<string> Events { get; } = new();

    /// <summary>Gets or sets an error that the next additions throw.</summary>
    public Exception? FailAdds { get; set; }

    /// <summary>Gets or sets a gate that every end waits for before it is recorded.</summary>
    public Task? EndGate { get; set; }

    /// <summary>Gets how many times the store was opened.</summary>
    public int Opens { get; private set; }

    public ValueTask<TaskStoreContents> OpenAsync(TimeSpan retention, int maxEnded, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Opens++;
            var unfinished = _rows.Values.Where(static row => row.Outcome is null).OrderBy(static row => row.Task.SequenceNumber).Select(static row => row.ToStored()).ToList();
            var ended = _rows.Values.Where(static row => row.Outcome is not null).OrderByDescending(static row => row.Outcome!.EndedAt).Take(maxEnded).Select(static row => row.ToStored()).ToList();
            var last = _rows.Count == 0 ? 0 : _rows.Values.Max(static row => row.Task.SequenceNumber);
            return ValueTask.FromResult(new TaskStoreContents(unfinished, ended, last));
        }
    }

    public ValueTask AddAsync(StoredTask task, CancellationToken cancellationToken)
    {
        if (FailAdds is { } failure)
        {
            return ValueTask.FromException(failure);
        }

        lock (_lock)
        {
            _rows[task.Id] = new Row(task);
            Events.Enqueue($"add:{task.Id}");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask AttemptStartedAsync(string taskId, long sequenceNumber, int attempt, string nodeName, DateTimeOffset startedAt, IReadOnlyList<StoredAttemptFailure> failures, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_rows.TryGetValue(taskId, out var row) && row.Task.SequenceNumber == sequenceNumber)
            {
                row.Attempts = attempt;
                row.LastNode = nodeName;
                row.StartedAt ??= startedAt;
            }

            Events.Enqueue($"start:{taskId}:{attempt}");
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask EndAsync(TaskOutcome outcome, CancellationToken cancellationToken)
    {
        if (EndGate is { } gate)
        {
            await gate.ConfigureAwait(false);
        }

        lock (_lock)
        {
            if (_rows.TryGetValue(outcome.TaskId, out var row) && row.Task.SequenceNumber == outcome.SequenceNumber && row.Outcome is null)
            {
                row.Outcome = outcome;
            }

            Events.Enqueue($"end:{outcome.TaskId}:{outcome.State}");
        }
    }

    public ValueTask LeftUnfinishedAsync(string taskId, long sequenceNumber, int concludedAttempts, IReadOnlyList<StoredAttemptFailure> failures, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_rows.TryGetValue(taskId, out var row) && row.Task.SequenceNumber == sequenceNumber && row.Outcome is null)
            {
                row.Concluded = concludedAttempts;
            }

            Events.Enqueue($"left:{taskId}:{concludedAttempts}");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<StoredTask?> FindAsync(string taskId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_rows.TryGetValue(taskId, out var row) ? row.ToStored() : null);
        }
    }

    /// <summary>Puts a row in as if an earlier process had written it.</summary>
    public void Seed(StoredTask task, int attempts = 0, string? lastNode = null, TaskOutcome? outcome = null)
    {
        lock (_lock)
        {
            _rows[task.Id] = new Row(task) { Attempts = attempts, LastNode = lastNode, Outcome = outcome };
        }
    }

    /// <summary>Gets the stored row of a task.</summary>
    public StoredTask? Get(string id)
    {
        lock (_lock)
        {
            return _rows.TryGetValue(id, out var row) ? row.ToStored() : null;
        }
    }

    private sealed class Row(StoredTask task)
    {
        public StoredTask Task { get; } = task;

        public int Attempts { get; set; }

        public string? LastNode { get; set; }

        public DateTimeOffset? StartedAt { get; set; }

        public int Concluded { get; set; }

        public TaskOutcome? Outcome { get; set; }

        public StoredTask ToStored() => new()
        {
            Id = Task.Id,
            SequenceNumber = Task.SequenceNumber,
            Handler = Task.Handler,
            Input = Task.Input,
            Options = Task.Options,
            Priority = Task.Priority,
            Deadline = Task.Deadline,
            HasCallerId = Task.HasCallerId,
            SubmittedAt = Task.SubmittedAt,
            ReadyAt = Task.ReadyAt,
            Attempts = Attempts,
            LastNode = LastNode,
            ConcludedAttempts = Concluded,
            StartedAt = StartedAt,
            Outcome = Outcome,
        };
    }
}
