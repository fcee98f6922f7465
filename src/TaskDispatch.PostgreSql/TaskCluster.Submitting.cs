using System.Text.Json;
using Npgsql;

namespace TaskDispatch;

public sealed partial class TaskCluster
{
    /// <summary>Checks the options of a submission at the call site and writes them as the store keeps them; once per
    /// call, since a batch shares them.</summary>
    private static string PrepareOptions(TaskOptions options)
    {
        if (options.CancellationToken.CanBeCanceled)
        {
            throw new ArgumentException("A cluster task cannot be cancelled with a token of one process: cancel it by id with CancelAsync, from any member.", nameof(options));
        }

        if (options.Id is { Length: 0 })
        {
            throw new ArgumentException("A task id must not be empty.", nameof(options));
        }

        return StoredOptions.Serialize(options);
    }

    /// <summary>Checks one task's input at the call site and makes the submitter's decisions for it: its id, its sort key
    /// in the scheduling policy's order, and its node.</summary>
    private async ValueTask<PendingInsert> PrepareAsync<THandler, TInput, TResult>(ClusterHandler<THandler, TInput, TResult> handler, TInput input, TaskOptions options, string optionsJson, CancellationToken cancellationToken)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        string inputJson;
        try
        {
            inputJson = JsonSerializer.Serialize(input, handler.Input);
        }
        catch (Exception exception) when (exception is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new ArgumentException($"The input of handler '{handler.Name}' cannot be written as JSON: {exception.Message}", nameof(input), exception);
        }

        var now = _timeProvider.GetUtcNow();
        var id = options.Id ?? NewTaskId(now);
        var descriptor = Describe(id, options, now);
        var sortKey = _scheduling is IStoreOrderedPolicy ordered
            ? ordered.FairShareWeight(options.FairnessKey ?? string.Empty) is { } weight
                ? await FairPassAsync(options.FairnessKey ?? string.Empty, weight, cancellationToken).ConfigureAwait(false)
                : ordered.SortKey(descriptor)
            : 0;
        DateTimeOffset? readyAt = options.NotBefore is { } notBefore ? notBefore
            : options.Delay is { } delay && delay > TimeSpan.Zero ? now + delay
            : null;
        return new PendingInsert(id, options.Id is not null, handler.Name, inputJson, optionsJson, sortKey, _placer.Place(descriptor), readyAt);
    }

    /// <summary>Makes up the id of a task submitted without one: a version 7 GUID, ordered by time. Tests replace it to
    /// make one collide.</summary>
    internal Func<DateTimeOffset, string> NewTaskId { get; set; } = static now => Guid.CreateVersion7(now).ToString("N");

    /// <summary>A task record the policies and the strategy decide on (sort key, node); it never runs here.</summary>
    private ActionTaskHandle Describe(string id, TaskOptions options, DateTimeOffset now) =>
        new(Local, id, options, 0, now, static (_, _) => ValueTask.CompletedTask, null);

    private static readonly TaskOptions DefaultOptions = new();

    /// <summary>Weighted fair share across the cluster: each key's next task gets the key's pass, which advances by
    /// 1/weight, and a key that was idle starts from the lowest pass of the others, so it neither starves nor floods.</summary>
    private async ValueTask<double> FairPassAsync(string key, double weight, CancellationToken cancellationToken)
    {
        var command = _dataSource.CreateCommand(_sql.FairPass);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = 1 / weight });
        return (double)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Hands a batch to the writer and waits for its commit; a task whose id was already taken waits for that
    /// task's outcome instead.</summary>
    private async ValueTask WriteAsync(IReadOnlyList<(PendingInsert Insert, ClusterTaskHandle Handle)> batch, CancellationToken cancellationToken)
    {
        HandToWriter(batch);
        await AwaitWrittenAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Registers a batch's handles as awaited and queues its rows for the writer.</summary>
    private void HandToWriter(IReadOnlyList<(PendingInsert Insert, ClusterTaskHandle Handle)> batch)
    {
        foreach (var (insert, handle) in batch)
        {
            _awaiting.Add(insert.Id, handle);
            _inserts.Writer.TryWrite(insert);
        }
    }

    /// <summary>Waits for the commit of a batch handed to the writer.</summary>
    private async ValueTask AwaitWrittenAsync(IReadOnlyList<(PendingInsert Insert, ClusterTaskHandle Handle)> batch, CancellationToken cancellationToken)
    {
        for (var index = 0; index < batch.Count; index++)
        {
            var (insert, handle) = batch[index];
            bool inserted;
            try
            {
                inserted = await insert.Written.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _awaiting.Remove(insert.Id, handle);

                // The rest of the batch is still written: their handles stay awaited until then, as abandoned ones do.
                _ = AbandonAsync([.. batch.Skip(index + 1)]);
                throw;
            }

            handle.MarkStored();
            if (!inserted)
            {
                TakenAlready(insert.Id, handle);
            }
        }
    }

    /// <summary>A submission whose id another task had: its handle now waits for that task's outcome, which the result
    /// loop reads by id.</summary>
    private void TakenAlready(string id, ClusterTaskHandle handle)
    {
        if (_awaiting.Remove(id, handle))
        {
            _awaitingOthers.Add(id, handle);
            _resultSignal.Set();
        }
    }

    /// <summary>A batch handed to the writer whose submitter stopped waiting (an earlier batch of the same call failed):
    /// its tasks stay awaited while their rows may still be written, and stop being awaited if their write fails.</summary>
    private async Task AbandonAsync(IReadOnlyList<(PendingInsert Insert, ClusterTaskHandle Handle)> batch)
    {
        foreach (var (insert, handle) in batch)
        {
            try
            {
                var inserted = await insert.Written.Task.ConfigureAwait(false);
                handle.MarkStored();
                if (!inserted)
                {
                    TakenAlready(insert.Id, handle);
                }
            }
            catch (TaskStoreException)
            {
                _awaiting.Remove(insert.Id, handle);
            }
        }
    }

    /// <summary>Writes what submitters wait for, in as few commits as possible: one INSERT of every row waiting, which also
    /// sends one NOTIFY per node that got work.</summary>
    private async Task InsertLoopAsync()
    {
        var reader = _inserts.Reader;
        var batch = new List<PendingInsert>(_options.WriteBatchSize);
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (batch.Count < _options.WriteBatchSize && reader.TryRead(out var insert))
            {
                batch.Add(insert);
            }

            try
            {
                var inserted = await InsertAsync(batch).ConfigureAwait(false);
                foreach (var insert in batch)
                {
                    insert.Written.TrySetResult(inserted is null || inserted.Contains(insert.Id));
                }
            }
            catch (Exception exception)
            {
                foreach (var insert in batch)
                {
                    insert.Written.TrySetException(new TaskStoreException($"Cluster '{Name}' could not write task '{insert.Id}' to PostgreSQL: {exception.Message}", exception));
                }
            }

            batch.Clear();
        }
    }

    /// <summary>Writes a batch; returns the ids written, or <see langword="null"/> when every task of the batch was.</summary>
    private async Task<HashSet<string>?> InsertAsync(List<PendingInsert> batch)
    {
        if (batch.Exists(static task => task.IdGiven))
        {
            return await InsertAsync(batch, idsGiven: true).ConfigureAwait(false);
        }

        try
        {
            return await InsertAsync(batch, idsGiven: false).ConfigureAwait(false);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // An id made up here was taken all the same: some caller gave it as its own. Nothing was written.
            return await InsertAsync(batch, idsGiven: true).ConfigureAwait(false);
        }
    }

    private async Task<HashSet<string>?> InsertAsync(List<PendingInsert> batch, bool idsGiven)
    {
        var insert = _dataSource.CreateCommand(idsGiven ? _sql.Insert : _sql.InsertNew);
        await using var commandDisposal = insert.ConfigureAwait(false);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MemberId });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(task => task.Id)] });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(task => task.Handler)] });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(task => task.Input)] });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(task => task.Options)] });
        insert.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. batch.Select(task => task.SortKey)] });
        insert.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. batch.Select(task => task.Node)] });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = [.. batch.Select(task => task.ReadyAt)] });
        insert.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. batch.Select(_ => true)] });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.WorkChannel });

        if (!idsGiven)
        {
            // Without ON CONFLICT the statement writes every row or fails: reading 1,000 ids back would only confirm it.
            var written = (int)(await insert.ExecuteScalarAsync().ConfigureAwait(false))!;
            return written == batch.Count
                ? null
                : throw new InvalidOperationException($"The insert of {batch.Count} tasks with ids made up by member {MemberId} wrote {written}.");
        }

        var inserted = new HashSet<string>(StringComparer.Ordinal);
        var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            inserted.Add(reader.GetString(0));
        }

        return inserted;
    }
}
