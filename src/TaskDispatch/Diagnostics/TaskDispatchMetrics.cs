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

    internal static string FaultName(bool isNodeFault, Exception error) =>
        isNodeFault ? "node" : error is TimeoutException ? "timeout" : "task";

    internal static TagList Tags(string dispatcher) => new() { { DispatcherTag, dispatcher } };

    internal static TagList Tags(string dispatcher, string node) => new() { { DispatcherTag, dispatcher }, { NodeTag, node } };
}
