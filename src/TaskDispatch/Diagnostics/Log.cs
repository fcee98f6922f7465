using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The dispatcher's log events. Ids: 1xx dispatching, 2xx scheduling, 3xx allocation, 4xx recovery, 5xx nodes.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, EventName = nameof(DispatcherStarted), Level = LogLevel.Information,
        Message = "Dispatcher {DispatcherName} started with {NodeCount} node(s) and {SlotCount} slot(s).")]
    internal static partial void DispatcherStarted(ILogger logger, string dispatcherName, int nodeCount, int slotCount);

    [LoggerMessage(EventId = 101, EventName = nameof(DispatcherStopping), Level = LogLevel.Information,
        Message = "Dispatcher {DispatcherName} stopping ({Mode}) with {LiveTasks} live task(s).")]
    internal static partial void DispatcherStopping(ILogger logger, string dispatcherName, ShutdownMode mode, long liveTasks);

    [LoggerMessage(EventId = 102, EventName = nameof(DispatcherStopped), Level = LogLevel.Information,
        Message = "Dispatcher {DispatcherName} stopped; while it stopped, {CompletedTasks} task(s) completed, {FailedTasks} failed and {CancelledTasks} were cancelled ({ForcedTasks} of them force-cancelled at the deadline).")]
    internal static partial void DispatcherStopped(ILogger logger, string dispatcherName, long completedTasks, long failedTasks, long cancelledTasks, int forcedTasks);

    [LoggerMessage(EventId = 107, EventName = nameof(TasksCancelledByStop), Level = LogLevel.Warning,
        Message = "Dispatcher {DispatcherName} cancelled {CancelledTasks} task(s) while it stopped ({ForcedTasks} at the deadline; the others by a cancel-mode stop, or because the container was disposed before the dispatcher stopped). Stop the dispatcher before disposing the container (TaskDispatch.Hosting does it with the host).")]
    internal static partial void TasksCancelledByStop(ILogger logger, string dispatcherName, long cancelledTasks, int forcedTasks);

    [LoggerMessage(EventId = 106, EventName = nameof(WorkersOutlivedStop), Level = LogLevel.Warning,
        Message = "Dispatcher {DispatcherName} stopped at its deadline while {WorkerCount} worker(s) were still inside work that ignores its cancellation token.")]
    internal static partial void WorkersOutlivedStop(ILogger logger, string dispatcherName, int workerCount);

    [LoggerMessage(EventId = 103, EventName = nameof(TaskFailed), Level = LogLevel.Warning,
        Message = "Task {TaskId} ({TaskKind}) failed after {Attempts} attempt(s).")]
    internal static partial void TaskFailed(ILogger logger, string taskId, string taskKind, int attempts, Exception? exception);

    [LoggerMessage(EventId = 108, EventName = nameof(TaskCancelled), Level = LogLevel.Debug,
        Message = "Task {TaskId} ({TaskKind}) was cancelled after {Attempts} attempt(s).")]
    internal static partial void TaskCancelled(ILogger logger, string taskId, string taskKind, int attempts);

    [LoggerMessage(EventId = 104, EventName = nameof(ObserverFailed), Level = LogLevel.Warning,
        Message = "An observer threw while handling task {TaskId}; the exception was ignored.")]
    internal static partial void ObserverFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 105, EventName = nameof(EngineFailed), Level = LogLevel.Critical,
        Message = "Dispatcher {DispatcherName} failed; every live task was failed with the cause.")]
    internal static partial void EngineFailed(ILogger logger, string dispatcherName, Exception exception);

    [LoggerMessage(EventId = 200, EventName = nameof(SchedulingPolicyFailed), Level = LogLevel.Error,
        Message = "The scheduling policy threw while enqueuing task {TaskId}; the task failed.")]
    internal static partial void SchedulingPolicyFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 201, EventName = nameof(SchedulingPolicyRemoveFailed), Level = LogLevel.Error,
        Message = "The scheduling policy threw while removing ended task {TaskId}; the dispatcher skips the task if the policy returns it later.")]
    internal static partial void SchedulingPolicyRemoveFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 202, EventName = nameof(SchedulingPolicyLearningFailed), Level = LogLevel.Error,
        Message = "The scheduling policy threw while learning from completed task {TaskId}; the task's outcome stands.")]
    internal static partial void SchedulingPolicyLearningFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 300, EventName = nameof(AllocationStrategyFailed), Level = LogLevel.Error,
        Message = "The allocation strategy threw or answered out of range for task {TaskId}; the task failed.")]
    internal static partial void AllocationStrategyFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 400, EventName = nameof(AttemptRetrying), Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "Task {TaskId} attempt {Attempt} failed on node {NodeName} with {ErrorType}: {ErrorMessage}; retrying after {Delay}.")]
    private static partial void AttemptRetrying(ILogger logger, string taskId, int attempt, string nodeName, string errorType, string errorMessage, TimeSpan delay);

    /// <summary>A failed attempt that will be retried: its error's type and message, not its stack, which the task's
    /// final failure logs once (<see cref="TaskFailed"/>).</summary>
    internal static void AttemptRetrying(ILogger logger, string taskId, int attempt, string nodeName, Exception error, TimeSpan delay)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var errorType = TaskDispatchMetrics.ErrorTypeName(error);
        AttemptRetrying(logger, taskId, attempt, nodeName, errorType, error.Message, delay);
    }

    [LoggerMessage(EventId = 401, EventName = nameof(RecoveryPolicyFailed), Level = LogLevel.Error,
        Message = "The recovery policy threw for task {TaskId}; the task failed with its attempt's exception.")]
    internal static partial void RecoveryPolicyFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 402, EventName = nameof(AttemptAbandoned), Level = LogLevel.Warning,
        Message = "Task {TaskId} attempt {Attempt} on node {NodeName} was given up as a node fault: {Reason}")]
    internal static partial void AttemptAbandoned(ILogger logger, string taskId, int attempt, string nodeName, string reason);

    [LoggerMessage(EventId = 403, EventName = nameof(CheckpointDeleteFailed), Level = LogLevel.Warning,
        Message = "The checkpoint store failed to delete the checkpoint of finished task {TaskId}.")]
    internal static partial void CheckpointDeleteFailed(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 500, EventName = nameof(NodeHealthChangedByBreaker), Level = LogLevel.Warning,
        Message = "Node {NodeName} is now {Health}, by its circuit breaker.")]
    internal static partial void NodeHealthChangedByBreaker(ILogger logger, string nodeName, NodeHealth health);

    [LoggerMessage(EventId = 600, EventName = nameof(StoreEndFailed), Level = LogLevel.Error,
        Message = "The task store failed to record the end of task {TaskId} ({State}); after a restart the task runs again.")]
    internal static partial void StoreEndFailed(ILogger logger, string taskId, TaskState state, Exception exception);

    [LoggerMessage(EventId = 602, EventName = nameof(StoreResultNotSerialized), Level = LogLevel.Warning,
        Message = "The result of task {TaskId} could not be converted to or from JSON for the task store; its end is kept without it.")]
    internal static partial void StoreResultNotSerialized(ILogger logger, string taskId, Exception exception);

    [LoggerMessage(EventId = 601, EventName = nameof(StoreReplayed), Level = LogLevel.Information,
        Message = "Dispatcher {DispatcherName} replayed {Waiting} waiting and {Interrupted} interrupted tasks from its store; {Unresolved} named a handler that could not be found and went to the dead letters.")]
    internal static partial void StoreReplayed(ILogger logger, string dispatcherName, int waiting, int interrupted, int unresolved);
}
