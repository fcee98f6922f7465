using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The engine's side of a durable store: turns handles into stored tasks and outcomes and back, and knows the
/// handler bindings. Exists only in a dispatcher with a store; without one, no component holds it and nothing on the
/// submit, run and complete path pays for it.</summary>
internal sealed class TaskPersistence(string dispatcherName, ITaskStore store, HandlerCatalog catalog, TimeProvider timeProvider, ILogger logger)
{
    private long _pendingEnds;

    /// <summary>Gets how many ended tasks wait for their end to be written; a forced stop counts them as settled.</summary>
    internal long PendingEnds => Interlocked.Read(ref _pendingEnds);

    /// <summary>Gets the handler bindings.</summary>
    internal HandlerCatalog Catalog { get; } = catalog;

    /// <summary>The error a delegate submission gets: a delegate cannot be stored.</summary>
    internal InvalidOperationException DelegateRejected() => new(
        $"Dispatcher '{dispatcherName}' keeps its tasks in a durable store, which cannot store a delegate. Submit a handler instead: " +
        "SubmitAsync<THandler, TInput, TResult>(input), where THandler implements ITaskHandler<TInput, TResult> and the input serializes to JSON " +
        "(register it with AddHandler<THandler, TInput, TResult>() to name it or give source-generated JSON contracts).");

    /// <summary>Readies a submitted handler task's work for storing: its binding and its input as JSON, serialized here so
    /// that an input that cannot be stored fails at the submitter's call site.</summary>
    internal static void Prepare(HandlerWork work, HandlerBinding binding)
    {
        work.Binding = binding;
        work.InputJson = binding.SerializeInput(work);
    }

    /// <summary>Writes an accepted task; durable when the returned task completes.</summary>
    internal ValueTask AddAsync(TaskHandle task, CancellationToken cancellationToken)
    {
        var work = (HandlerWork)task.Work!;
        return store.AddAsync(
            new StoredTask
            {
                Id = task.Id,
                SequenceNumber = task.SequenceNumber,
                Handler = work.Binding!.Name,
                Input = work.InputJson!,
                Options = StoredOptions.Serialize(task.Options),
                Priority = task.Options.Priority,
                Deadline = task.Options.Deadline,
                HasCallerId = task.HasCallerId,
                SubmittedAt = task.SubmittedAt,
                ReadyAt = task.ReadyAt,
            },
            cancellationToken);
    }

    /// <summary>Records an attempt's start; durable when the returned task completes.</summary>
    internal ValueTask AttemptStartedAsync(TaskHandle task, int attempt, string nodeName, DateTimeOffset startedAt, CancellationToken cancellationToken) =>
        store.AttemptStartedAsync(task.Id, task.SequenceNumber, attempt, nodeName, startedAt, StoredFailures(task), cancellationToken);

    private static IReadOnlyList<StoredAttemptFailure> StoredFailures(TaskHandle task) =>
        task.AttemptFailures.Count == 0 ? [] : [.. task.AttemptFailures.Select(ToStored)];

    /// <summary>Records a task's end (unless <paramref name="leaveUnfinished"/>: a stop cancelled it, and the next start
    /// replays it), then runs <paramref name="then"/> (which completes the awaitable) whether or not the store managed
    /// to: a task's awaitable is never stranded by a store that failed.</summary>
    internal async Task EndThenAsync(TaskHandle task, TaskState terminal, bool leaveUnfinished, Action then)
    {
        Interlocked.Increment(ref _pendingEnds);
        try
        {
            if (leaveUnfinished)
            {
                await store.LeftUnfinishedAsync(task.Id, task.SequenceNumber, task.Attempts, StoredFailures(task), CancellationToken.None).ConfigureAwait(false);
                return;
            }

            var work = task.Work as HandlerWork;
            if (work?.Stored is { } stored)
            {
                // Ended while its addition was still being written (a token cancelled at once, say): the end follows it.
                await stored.ConfigureAwait(false);
            }

            var exception = terminal == TaskState.Failed ? task.Exception : null;
            await store.EndAsync(
                new TaskOutcome
                {
                    TaskId = task.Id,
                    SequenceNumber = task.SequenceNumber,
                    State = terminal,
                    Result = terminal == TaskState.Completed ? SerializeResult(work, task) : null,
                    ErrorType = exception is RecordedTaskException recorded ? recorded.ErrorType : exception?.GetType().FullName,
                    ErrorMessage = exception?.Message,
                    Failures = StoredFailures(task),
                    Attempts = task.Attempts,
                    EndedAt = task.EndedAt ?? timeProvider.GetUtcNow(),
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Log.StoreEndFailed(logger, task.Id, terminal, exception);
        }
        finally
        {
            // Counted down before the awaitable completes and the task stops counting as live.
            Interlocked.Decrement(ref _pendingEnds);
            then();
        }
    }

    /// <summary>Closes the store, once the dispatcher has stopped and its last writes are queued.</summary>
    internal async ValueTask CloseAsync()
    {
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
        else if (store is IDisposable plain)
        {
            plain.Dispose();
        }
    }

    /// <summary>The result as JSON; a result that cannot be serialized is logged and stored as none, so that the end is
    /// still recorded (else the task would run again at every start).</summary>
    private string? SerializeResult(HandlerWork? work, TaskHandle task)
    {
        try
        {
            return work?.Binding?.SerializeResult(task);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Log.StoreResultNotSerialized(logger, task.Id, exception);
            return null;
        }
    }

    private static StoredAttemptFailure ToStored(AttemptFailure failure) => new(
        failure.Attempt,
        failure.NodeName,
        failure.Exception is RecordedTaskException recorded ? recorded.ErrorType : failure.Exception.GetType().FullName,
        failure.Exception.Message,
        failure.FailedAt,
        failure.IsNodeFault);

    /// <summary>Opens the store.</summary>
    internal TaskStoreContents Open(TimeSpan retention, int maxEnded) =>
        store.OpenAsync(retention, maxEnded, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>Finds a task in the store and, if it ended, rebuilds its handle; for lookups and idempotent submissions
    /// that missed the tasks kept in memory.</summary>
    internal async ValueTask<TaskHandle?> FindEndedAsync(TaskDispatcher dispatcher, string id, CancellationToken cancellationToken)
    {
        var stored = await store.FindAsync(id, cancellationToken).ConfigureAwait(false);
        return stored?.Outcome is null ? null : RebuildEnded(dispatcher, stored);
    }

    /// <summary>Rebuilds the handle of a stored task that had not ended, or <see langword="null"/> when its handler
    /// cannot be found (the caller dead-letters it).</summary>
    internal TaskHandle? RebuildLive(TaskDispatcher dispatcher, StoredTask stored, out string? problem)
    {
        if (!Catalog.TryResolve(stored.Handler, out var binding))
        {
            problem = UnresolvedReason(stored);
            return null;
        }

        TaskHandle handle;
        try
        {
            handle = binding.CreateHandle(dispatcher, stored, StoredOptions.Deserialize(stored.Options, stored.ReadyAt));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            problem = $"Task '{stored.Id}' of handler '{stored.Handler}' was stored with an input or options that no longer read ({exception.Message}); fix the handler's input type, then resubmit the task from the dead letters.";
            return null;
        }

        problem = null;
        handle.RestoreAttempts(stored.Attempts);
        RestoreFailures(handle, stored.Failures);
        if (stored.StartedAt is { } startedAt)
        {
            handle.MarkStarted(startedAt);
        }

        return handle;
    }

    /// <summary>Makes the stand-in handle of a stored task whose handler cannot be found: it never runs, and is failed
    /// (live) or restored ended, so that it shows in the outcomes and the dead letters instead of vanishing.</summary>
    internal static TaskHandle Unresolved(TaskDispatcher dispatcher, StoredTask stored, string? reason = null) =>
        new ActionTaskHandle(
            dispatcher,
            stored.Id,
            SafeOptions(stored),
            stored.SequenceNumber,
            stored.SubmittedAt,
            static (_, state) => throw (Exception)state!,
            new InvalidOperationException(reason ?? UnresolvedReason(stored)));

    /// <summary>Why a stored task cannot run.</summary>
    internal static string UnresolvedReason(StoredTask stored) =>
        $"Task '{stored.Id}' names handler '{stored.Handler}', which no registered handler and no loaded type matches (renamed or removed?). " +
        "Register it with AddHandler<THandler, TInput, TResult>(name) under that name, then resubmit the task from the dead letters.";

    /// <summary>Rebuilds the handle of a stored task that ended.</summary>
    internal TaskHandle RebuildEnded(TaskDispatcher dispatcher, StoredTask stored)
    {
        var outcome = stored.Outcome!;
        TaskHandle handle;
        HandlerBinding? binding = null;
        try
        {
            handle = Catalog.TryResolve(stored.Handler, out binding)
                ? binding.CreateHandle(dispatcher, stored, StoredOptions.Deserialize(stored.Options, stored.ReadyAt))
                : Unresolved(dispatcher, stored);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // An ended task whose input no longer reads still has an outcome to show.
            binding = null;
            handle = Unresolved(dispatcher, stored);
        }

        Exception? error = outcome.State == TaskState.Failed
            ? new RecordedTaskException(outcome.ErrorMessage ?? "The task failed.") { ErrorType = outcome.ErrorType }
            : null;
        if (outcome.State == TaskState.Completed)
        {
            try
            {
                binding?.RestoreResult(handle, outcome.Result);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The outcome is still worth showing without its result, which no longer reads.
                Log.StoreResultNotSerialized(logger, stored.Id, exception);
            }
        }

        RestoreFailures(handle, outcome.Failures);
        handle.RestoreEnded(outcome.State, error, outcome.Attempts, stored.StartedAt, outcome.EndedAt);
        return handle;
    }

    private static void RestoreFailures(TaskHandle handle, IReadOnlyList<StoredAttemptFailure> failures)
    {
        foreach (var failure in failures)
        {
            handle.RecordFailure(new AttemptFailure(
                failure.Attempt,
                failure.NodeName,
                new RecordedTaskException(failure.ErrorMessage) { ErrorType = failure.ErrorType },
                failure.FailedAt,
                failure.IsNodeFault));
        }
    }

    private static TaskOptions SafeOptions(StoredTask stored)
    {
        try
        {
            return StoredOptions.Deserialize(stored.Options, stored.ReadyAt);
        }
        catch (System.Text.Json.JsonException)
        {
            return new TaskOptions { Id = stored.HasCallerId ? stored.Id : null };
        }
    }
}
