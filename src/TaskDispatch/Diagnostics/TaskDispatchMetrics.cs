using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TaskDispatch;

/// <summary>The names of the dispatcher's <see cref="System.Diagnostics.Metrics.Meter"/>, instruments and tags, in the
/// OpenTelemetry semantic-convention style. Listen with <c>MeterListener</c>, <c>dotnet-counters</c> or OpenTelemetry.</summary>
public static class TaskDispatchMetrics
{
    /// <summary>The meter's name: <c>TaskDispatch</c>.</summary>
    public const string MeterName = "TaskDispatch";

    /// <summary>Tag: the dispatcher's name.</summary>
    public const string DispatcherTag = "taskdispatch.dispatcher";

    /// <summary>Tag: the node's name.</summary>
    public const string NodeTag = "taskdispatch.node";

    /// <summary>Tag: whose fault a failure was: <c>task</c>, <c>node</c>, or <c>timeout</c> when the dispatcher timed the
    /// attempt or the task out (<see cref="TaskTimeoutException"/>; a <see cref="TimeoutException"/> the task's own code
    /// throws is the task's).</summary>
    public const string FaultTag = "taskdispatch.fault";

    /// <summary>Tag (OpenTelemetry semantic conventions): the full name of the exception type a failure ended with, on
    /// failed attempts, restarts and tasks that ended failed. <see cref="FaultTag"/> beside it says whose fault it was.</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>Tag: how a task or attempt ended: <c>completed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public const string OutcomeTag = "taskdispatch.outcome";

    /// <summary>Tag: the scheduling policy's type name.</summary>
    public const string SchedulingPolicyTag = "taskdispatch.scheduling.policy";

    /// <summary>Tag: the allocation strategy's type name.</summary>
    public const string AllocationStrategyTag = "taskdispatch.allocation.strategy";

    /// <summary>Histogram, in seconds, from submission to the start of the first attempt, tagged with dispatcher and scheduling policy.</summary>
    public const string WaitDuration = "taskdispatch.task.wait.duration";

    /// <summary>Histogram, in seconds, from submission to the terminal state, tagged with dispatcher and outcome.</summary>
    public const string ResponseDuration = "taskdispatch.task.response.duration";

    /// <summary>Histogram, in seconds, of each attempt's run time, tagged with dispatcher, node and outcome.</summary>
    public const string AttemptDuration = "taskdispatch.attempt.duration";

    /// <summary>Histogram, in seconds, of each allocation decision, tagged with dispatcher and allocation strategy.</summary>
    public const string AllocationDuration = "taskdispatch.allocation.duration";

    /// <summary>Counter of tasks accepted, tagged with dispatcher.</summary>
    public const string TasksSubmitted = "taskdispatch.task.submitted";

    /// <summary>Counter of submissions refused because the dispatcher was full (<c>TaskRejectedException</c> or
    /// <c>TrySubmit</c> returning false), tagged with dispatcher.</summary>
    public const string TasksRejected = "taskdispatch.task.rejected";

    /// <summary>Counter of attempts started, tagged with dispatcher and node.</summary>
    public const string AttemptsStarted = "taskdispatch.attempt.started";

    /// <summary>Counter of tasks that reached a terminal state, tagged with dispatcher and outcome.</summary>
    public const string TasksFinished = "taskdispatch.task.finished";

    /// <summary>Up-down counter of tasks accepted and not running (waiting, queued, retrying), tagged with dispatcher.</summary>
    public const string QueueLength = "taskdispatch.queue.length";

    /// <summary>Up-down counter of node slots in use, tagged with dispatcher and node.</summary>
    public const string SlotsInUse = "taskdispatch.node.slots.used";

    /// <summary>Up-down counter: each node's slots in all (its concurrency), to read <see cref="SlotsInUse"/> against.</summary>
    public const string SlotsCapacity = "taskdispatch.node.slots.capacity";

    /// <summary>Gauge of a node's utilization since it was added (busy slot-time over capacity-time, 0 to 1), tagged with dispatcher and node.</summary>
    public const string NodeUtilization = "taskdispatch.node.utilization";

    /// <summary>Counter of failed attempts, tagged with dispatcher, node and fault.</summary>
    public const string AttemptFailures = "taskdispatch.attempt.failures";

    /// <summary>Counter of attempts the engine gave up (node marked unavailable, missed heartbeats), tagged with dispatcher and node.</summary>
    public const string AttemptsAbandoned = "taskdispatch.attempt.abandoned";

    /// <summary>Counter of restarts: failed attempts the recovery policy retried, tagged with dispatcher and fault.</summary>
    public const string Restarts = "taskdispatch.task.restarts";

    /// <summary>Histogram, in seconds, from a failed attempt to the start of the task's next attempt.</summary>
    public const string RestartDelay = "taskdispatch.recovery.restart_delay";

    /// <summary>Histogram, in seconds, from a task's first failed attempt to its completion, for tasks that recovered.</summary>
    public const string RecoveryDuration = "taskdispatch.recovery.duration";

    /// <summary>Counter of node quarantines by the circuit breaker, tagged with dispatcher and node.</summary>
    public const string NodeQuarantines = "taskdispatch.node.quarantines";

    /// <summary>Counter of tasks that ended failed and went to the dead letters.</summary>
    public const string DeadLetters = "taskdispatch.task.dead_letters";

    /// <summary>Counter of tasks accepted but never terminal when their dispatcher stopped; the engine's promise is that it stays 0.</summary>
    public const string LostTasks = "taskdispatch.task.lost";

    /// <summary>The meter of dispatchers built without a service provider that offers an <see cref="IMeterFactory"/>.</summary>
    internal static readonly Meter Meter = new(MeterName, typeof(TaskDispatchMetrics).Assembly.GetName().Version?.ToString());

    internal static string OutcomeName(TaskState terminal) => terminal switch
    {
        TaskState.Completed => "completed",
        TaskState.Failed => "failed",
        _ => "cancelled",
    };

    internal static string FaultName(bool isNodeFault, Exception error) =>
        isNodeFault ? "node" : error is TaskTimeoutException ? "timeout" : "task";

    /// <summary>The <see cref="ErrorTypeTag"/> value of an exception: its type's full name.</summary>
    internal static string ErrorTypeName(Exception error) => error.GetType().FullName ?? error.GetType().Name;

    internal static TagList Tags(string dispatcher) => new() { { DispatcherTag, dispatcher } };

    internal static TagList Tags(string dispatcher, string node) => new() { { DispatcherTag, dispatcher }, { NodeTag, node } };
}
