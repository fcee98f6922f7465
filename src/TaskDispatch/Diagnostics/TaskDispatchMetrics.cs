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

    /// <summary>Tag: whose fault a failure was: <c>task</c>, <c>node</c> or <c>timeout</c>.</summary>
    public const string FaultTag = "taskdispatch.fault";

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

    internal static readonly Meter Meter = new(MeterName, typeof(TaskDispatchMetrics).Assembly.GetName().Version?.ToString());

    internal static readonly Counter<long> AttemptFailureCounter = Meter.CreateCounter<long>(AttemptFailures, "{attempt}", "Failed attempts.");

    internal static readonly Counter<long> AbandonedCounter = Meter.CreateCounter<long>(AttemptsAbandoned, "{attempt}", "Attempts given up by the engine after a node fault.");

    internal static readonly Counter<long> RestartCounter = Meter.CreateCounter<long>(Restarts, "{restart}", "Failed attempts that were retried.");

    internal static readonly Histogram<double> RestartDelayHistogram = Meter.CreateHistogram<double>(RestartDelay, "s", "Time from a failed attempt to the start of the next attempt.");

    internal static readonly Histogram<double> RecoveryDurationHistogram = Meter.CreateHistogram<double>(RecoveryDuration, "s", "Time from a task's first failure to its completion.");

    internal static readonly Counter<long> QuarantineCounter = Meter.CreateCounter<long>(NodeQuarantines, "{quarantine}", "Times a node's circuit breaker quarantined it.");

    internal static readonly Counter<long> DeadLetterCounter = Meter.CreateCounter<long>(DeadLetters, "{task}", "Tasks that ended failed.");

    internal static readonly Counter<long> LostTaskCounter = Meter.CreateCounter<long>(LostTasks, "{task}", "Tasks never terminal when the dispatcher stopped.");

    internal static readonly Histogram<double> WaitHistogram = Meter.CreateHistogram<double>(WaitDuration, "s", "Time from submission to the start of the first attempt.");

    internal static readonly Histogram<double> ResponseHistogram = Meter.CreateHistogram<double>(ResponseDuration, "s", "Time from submission to the terminal state.");

    internal static readonly Histogram<double> AttemptHistogram = Meter.CreateHistogram<double>(AttemptDuration, "s", "Run time of each attempt.");

    internal static readonly Histogram<double> AllocationHistogram = Meter.CreateHistogram<double>(AllocationDuration, "s", "Time the allocation strategy took to choose a node.");

    internal static readonly Counter<long> SubmittedCounter = Meter.CreateCounter<long>(TasksSubmitted, "{task}", "Tasks accepted.");

    internal static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>(TasksRejected, "{task}", "Submissions refused because the dispatcher was full.");

    internal static readonly Counter<long> StartedCounter = Meter.CreateCounter<long>(AttemptsStarted, "{attempt}", "Attempts started.");

    internal static readonly Counter<long> FinishedCounter = Meter.CreateCounter<long>(TasksFinished, "{task}", "Tasks that reached a terminal state.");

    /// <summary>The dispatchers running now, for the observable instruments.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<TaskDispatcher, byte> s_dispatchers = new();

    internal static readonly ObservableUpDownCounter<long> QueueLengthCounter = Meter.CreateObservableUpDownCounter(
        QueueLength, ObserveQueueLengths, "{task}", "Tasks accepted and not running.");

    internal static readonly ObservableUpDownCounter<long> SlotsInUseCounter = Meter.CreateObservableUpDownCounter(
        SlotsInUse, ObserveSlotsInUse, "{slot}", "Node slots in use.");

    internal static readonly ObservableGauge<double> UtilizationGauge = Meter.CreateObservableGauge(
        NodeUtilization, ObserveUtilization, "1", "Busy slot-time over capacity-time since the node was added.");

    internal static void Register(TaskDispatcher dispatcher) => s_dispatchers.TryAdd(dispatcher, 0);

    internal static void Unregister(TaskDispatcher dispatcher) => s_dispatchers.TryRemove(dispatcher, out _);

    internal static string OutcomeName(TaskState terminal) => terminal switch
    {
        TaskState.Completed => "completed",
        TaskState.Failed => "failed",
        _ => "cancelled",
    };

    private static IEnumerable<Measurement<long>> ObserveQueueLengths()
    {
        foreach (var dispatcher in s_dispatchers.Keys)
        {
            yield return new Measurement<long>(dispatcher.WaitingTaskCount, Tags(dispatcher.Name));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveSlotsInUse()
    {
        foreach (var dispatcher in s_dispatchers.Keys)
        {
            foreach (var node in dispatcher.Nodes)
            {
                yield return new Measurement<long>(node.ActiveTasks, Tags(dispatcher.Name, node.Name));
            }
        }
    }

    private static IEnumerable<Measurement<double>> ObserveUtilization()
    {
        foreach (var dispatcher in s_dispatchers.Keys)
        {
            foreach (var node in dispatcher.GetNodeStatistics(dispatcher.TimeProvider.GetUtcNow()))
            {
                yield return new Measurement<double>(node.Utilization, Tags(dispatcher.Name, node.Name));
            }
        }
    }

    internal static string FaultName(bool isNodeFault, Exception error) =>
        isNodeFault ? "node" : error is TimeoutException ? "timeout" : "task";

    internal static TagList Tags(string dispatcher) => new() { { DispatcherTag, dispatcher } };

    internal static TagList Tags(string dispatcher, string node) => new() { { DispatcherTag, dispatcher }, { NodeTag, node } };
}
