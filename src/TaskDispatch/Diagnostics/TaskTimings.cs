using System.Diagnostics.Metrics;

namespace TaskDispatch;

/// <summary>Measures a dispatcher's waiting, response, processing and allocation times: into the snapshot's histograms
/// when <see cref="TaskDispatcherOptions.MeasureTimings"/> is on, and into the meter's histograms when someone listens.
/// Thread-safe; owns the four snapshot histograms.</summary>
internal sealed class TaskTimings(string dispatcherName, TaskDispatchInstruments instruments, TimeProvider timeProvider, bool measureTimings, string schedulingName, string allocationName)
{
    private readonly LatencyHistogram _waitingTimes = new();
    private readonly LatencyHistogram _responseTimes = new();
    private readonly LatencyHistogram _processingTimes = new();
    private readonly LatencyHistogram _allocationTimes = new();

    /// <summary>Gets whether allocation decisions are timed: when the snapshot or a listener wants the duration.</summary>
    internal bool TimesAllocation => IsTimed(instruments.AllocationHistogram);

    /// <summary>Gets the four snapshot histograms' current statistics.</summary>
    internal (TimingStatistics Waiting, TimingStatistics Response, TimingStatistics Processing, TimingStatistics Allocation) Snapshot() =>
        (_waitingTimes.Snapshot(), _responseTimes.Snapshot(), _processingTimes.Snapshot(), _allocationTimes.Snapshot());

    internal void MeasureAccepted(TaskHandle handle)
    {
        // Always stamped, one clock read per task: the waiting and response times derive from it for the snapshot
        // (MeasureTimings) and for the live instruments alike, whichever is on.
        handle.SubmittedTimestamp = timeProvider.GetTimestamp();
        if (instruments.SubmittedCounter.Enabled)
        {
            instruments.SubmittedCounter.Add(1, TaskDispatchMetrics.Tags(dispatcherName));
        }
    }

    internal void MeasureRejected()
    {
        if (instruments.RejectedCounter.Enabled)
        {
            instruments.RejectedCounter.Add(1, TaskDispatchMetrics.Tags(dispatcherName));
        }
    }

    internal void MeasureAttemptStarted(TaskHandle task, string nodeName, int attempt, long startedAt)
    {
        if (instruments.StartedCounter.Enabled)
        {
            instruments.StartedCounter.Add(1, TaskDispatchMetrics.Tags(dispatcherName, nodeName));
        }

        if (attempt == 1 && IsTimed(instruments.WaitHistogram))
        {
            var waited = timeProvider.GetElapsedTime(task.SubmittedTimestamp, startedAt);
            RecordDuration(_waitingTimes, instruments.WaitHistogram, waited, new(TaskDispatchMetrics.SchedulingPolicyTag, schedulingName));
        }
    }

    internal void MeasureAttemptEnded(string nodeName, TimeSpan processingTime, bool succeeded) =>
        RecordDuration(_processingTimes, instruments.AttemptHistogram, processingTime, new(TaskDispatchMetrics.OutcomeTag, succeeded ? "completed" : "failed"), nodeName);

    internal void MeasureAllocation(TimeSpan decisionTime) =>
        RecordDuration(_allocationTimes, instruments.AllocationHistogram, decisionTime, new(TaskDispatchMetrics.AllocationStrategyTag, allocationName));

    internal void MeasureFinished(TaskHandle task, TaskState terminal)
    {
        var outcome = new KeyValuePair<string, object?>(TaskDispatchMetrics.OutcomeTag, TaskDispatchMetrics.OutcomeName(terminal));
        if (IsTimed(instruments.ResponseHistogram))
        {
            RecordDuration(_responseTimes, instruments.ResponseHistogram, timeProvider.GetElapsedTime(task.SubmittedTimestamp), outcome);
        }

        if (instruments.FinishedCounter.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(dispatcherName);
            tags.Add(outcome);
            if (terminal == TaskState.Failed && task.Exception is { } error)
            {
                tags.Add(TaskDispatchMetrics.ErrorTypeTag, TaskDispatchMetrics.ErrorTypeName(error));
            }

            instruments.FinishedCounter.Add(1, tags);
        }
    }

    private bool IsTimed(Histogram<double> instrument) => measureTimings || instrument.Enabled;

    private void RecordDuration(LatencyHistogram snapshot, Histogram<double> instrument, TimeSpan duration, KeyValuePair<string, object?> tag, string? node = null)
    {
        if (measureTimings)
        {
            snapshot.Record(duration);
        }

        if (instrument.Enabled)
        {
            var tags = node is null ? TaskDispatchMetrics.Tags(dispatcherName) : TaskDispatchMetrics.Tags(dispatcherName, node);
            tags.Add(tag);
            instrument.Record(duration.TotalSeconds, tags);
        }
    }
}
