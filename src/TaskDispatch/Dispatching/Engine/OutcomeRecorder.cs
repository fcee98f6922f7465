using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>Records a task's end, once, for the party that won its terminal transition: forgets it in the registry,
/// keeps it findable by id for the retention period, takes it out of the ready queue, counts and measures it, keeps a failed one in the dead letters, drops a checkpoint
/// no longer needed, and has the notifier tell watchers and observers before the awaitable completes.</summary>
internal sealed class OutcomeRecorder(
    TaskRegistry registry,
    Scheduler scheduler,
    TaskNotifier notifier,
    TaskCounters counters,
    TaskTimings timings,
    DeadLetterList deadLetters,
    OutcomeArchive archive,
    TaskPersistence? persistence,
    DispatcherLifecycle lifecycle,
    ICheckpointStore checkpoints,
    TimeProvider timeProvider,
    ILogger logger)
{
    private readonly TaskRegistry _registry = registry;
    private readonly Scheduler _scheduler = scheduler;
    private readonly TaskNotifier _notifier = notifier;
    private readonly TaskCounters _counters = counters;
    private readonly TaskTimings _timings = timings;
    private readonly DeadLetterList _deadLetters = deadLetters;
    private readonly OutcomeArchive _archive = archive;
    private readonly TaskPersistence? _persistence = persistence;
    private readonly DispatcherLifecycle _lifecycle = lifecycle;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly ICheckpointStore _checkpoints = checkpoints;
    private readonly ILogger _logger = logger;

    /// <summary>Called once per task by the winner of its terminal transition.</summary>
    internal void OnFinished(TaskHandle task, TaskState previous, TaskState terminal, long version)
    {
        task.MarkEnded(_timeProvider.GetUtcNow());

        // Archived before the registry forgets it, so that a lookup or an idempotent submission that misses the live
        // task finds the ended one.
        _archive.Add(task);
        _registry.Remove(task);
        if (previous is TaskState.Pending or TaskState.Retrying)
        {
            // It may sit in the ready queue: let the scheduler drop it now rather than when it reaches the head.
            _scheduler.PostRemoved(task);
        }

        _counters.CountFinished(terminal);
        _timings.MeasureFinished(task, terminal);
        TaskTracing.TraceFinished(task, terminal);
        if (terminal == TaskState.Failed)
        {
            _deadLetters.Add(task);

            // Once per failed task, whoever failed it (recovery gave up, a policy threw, the engine failed), at a level
            // the default configuration shows.
            Log.TaskFailed(_logger, task.Id, task.Kind, task.Attempts, task.Exception);
        }
        else if (terminal == TaskState.Cancelled && _logger.IsEnabled(LogLevel.Debug))
        {
            Log.TaskCancelled(_logger, task.Id, task.Kind, task.Attempts);
        }

        // A task cancelled by a stop of a durable dispatcher is left unfinished in the store, so that the next start runs
        // it: a deploy or a shutdown must not turn accepted work into cancelled work, nor lose its checkpoint.
        var leaveUnfinished = _persistence is not null && terminal == TaskState.Cancelled
            && (!_lifecycle.IsAccepting(reentrant: null) || task.StoppedForShutdown);
        if (task.HasCheckpoint && terminal != TaskState.Failed && !leaveUnfinished)
        {
            // A failed task keeps its checkpoint, so that resubmitting it resumes; otherwise its progress is of no more use.
            _ = DeleteCheckpointAsync(task.Id);
        }

        if (_persistence is null)
        {
            _notifier.OnFinished(task, previous, terminal, version);
            return;
        }

        EndDurably(task, previous, terminal, version, leaveUnfinished);
    }

    /// <summary>Durable: the awaitable completes (and observers hear) only once the outcome is in the store, so that a
    /// result a caller saw is never run again after a crash.</summary>
    /// <remarks>A method of its own: the closure it needs would otherwise be allocated on entry to
    /// <see cref="OnFinished"/>, for every task of every dispatcher, durable or not.</remarks>
    private void EndDurably(TaskHandle task, TaskState previous, TaskState terminal, long version, bool leaveUnfinished) =>
        _ = _persistence!.EndThenAsync(task, terminal, leaveUnfinished, () => _notifier.OnFinished(task, previous, terminal, version));

    private async Task DeleteCheckpointAsync(string taskId)
    {
        try
        {
            await _checkpoints.DeleteAsync(taskId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Log.CheckpointDeleteFailed(_logger, taskId, exception);
        }
    }
}
