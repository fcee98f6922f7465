using System.Diagnostics.Metrics;

namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    private readonly LatencyHistogram _waitingTimes = new();
    private readonly LatencyHistogram _responseTimes = new();
    private readonly LatencyHistogram _processingTimes = new();
    private readonly LatencyHistogram _allocationTimes = new();

    /// <summary>Whether timings are recorded for <see cref="GetStatistics"/> (<see cref="TaskDispatcherOptions.MeasureTimings"/>).</summary>
    private bool MeasureTimings => _options.MeasureTimings;

    /// <summary>Gets the tasks accepted and not running now: waiting for their start time, queued, retrying or parked.</summary>
    internal long WaitingTaskCount
    {
        get
        {
            long running = 0;
            foreach (var node in _nodeSnapshots)
            {
                running += node.ActiveTasks;
            }

            return Math.Max(0, LiveTaskCount - running);
        }
    }

    private void MeasureAccepted(TaskHandle handle)
    {
        // Always stamped, one clock read per task: the waiting and response times derive from it for the snapshot
        // (MeasureTimings) and for the live instruments alike, whichever is on.
        handle.SubmittedTimestamp = TimeProvider.GetTimestamp();
        if (TaskDispatchMetrics.SubmittedCounter.Enabled)
        {
            TaskDispatchMetrics.SubmittedCounter.Add(1, TaskDispatchMetrics.Tags(Name));
        }
    }

    private void MeasureRejected()
    {
        if (TaskDispatchMetrics.RejectedCounter.Enabled)
        {
            TaskDispatchMetrics.RejectedCounter.Add(1, TaskDispatchMetrics.Tags(Name));
        }
    }

    /// <summary>Whether a duration is wanted at all: by the snapshot, or by a listener of <paramref name="instrument"/>.</summary>
    private bool IsTimed(Histogram<double> instrument) => MeasureTimings || instrument.Enabled;

    /// <summary>Counts an attempt's start and, for the first attempt, the task's waiting time up to <paramref name="startedAt"/>.</summary>
    private void MeasureAttemptStarted(TaskHandle task, NodeRuntime node, int attempt, long startedAt)
    {
        if (TaskDispatchMetrics.StartedCounter.Enabled)
        {
            TaskDispatchMetrics.StartedCounter.Add(1, TaskDispatchMetrics.Tags(Name, node.Name));
        }

        if (attempt == 1 && IsTimed(TaskDispatchMetrics.WaitHistogram))
        {
            var waited = TimeProvider.GetElapsedTime(task.SubmittedTimestamp, startedAt);
            RecordDuration(_waitingTimes, TaskDispatchMetrics.WaitHistogram, waited, new(TaskDispatchMetrics.SchedulingPolicyTag, _schedulingName));
        }
    }

    private void MeasureAttemptEnded(NodeRuntime node, TimeSpan processingTime, bool succeeded) =>
        RecordDuration(_processingTimes, TaskDispatchMetrics.AttemptHistogram, processingTime, new(TaskDispatchMetrics.OutcomeTag, succeeded ? "completed" : "failed"), node.Name);

    private void MeasureAllocation(TimeSpan decisionTime) =>
        RecordDuration(_allocationTimes, TaskDispatchMetrics.AllocationHistogram, decisionTime, new(TaskDispatchMetrics.AllocationStrategyTag, _allocationName));

    /// <summary>Records a task's response time and outcome; called once per task as it finishes.</summary>
    private void MeasureFinished(TaskHandle task, TaskState terminal)
    {
        var outcome = new KeyValuePair<string, object?>(TaskDispatchMetrics.OutcomeTag, TaskDispatchMetrics.OutcomeName(terminal));
        if (IsTimed(TaskDispatchMetrics.ResponseHistogram))
        {
            RecordDuration(_responseTimes, TaskDispatchMetrics.ResponseHistogram, TimeProvider.GetElapsedTime(task.SubmittedTimestamp), outcome);
        }

        if (TaskDispatchMetrics.FinishedCounter.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(Name);
            tags.Add(outcome);
            TaskDispatchMetrics.FinishedCounter.Add(1, tags);
        }
    }

    /// <summary>Records a duration in the snapshot's histogram (when <see cref="MeasureTimings"/>) and on the live
    /// instrument (when someone listens), tagged with the dispatcher, the node if given, and <paramref name="tag"/>.</summary>
    private void RecordDuration(LatencyHistogram snapshot, Histogram<double> instrument, TimeSpan duration, KeyValuePair<string, object?> tag, string? node = null)
    {
        if (MeasureTimings)
        {
            snapshot.Record(duration);
        }

        if (instrument.Enabled)
        {
            var tags = node is null ? TaskDispatchMetrics.Tags(Name) : TaskDispatchMetrics.Tags(Name, node);
            tags.Add(tag);
            instrument.Record(duration.TotalSeconds, tags);
        }
    }
}
