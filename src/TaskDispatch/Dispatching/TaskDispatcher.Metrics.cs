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
        if (MeasureTimings)
        {
            handle.SubmittedTimestamp = TimeProvider.GetTimestamp();
        }

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

    /// <summary>Counts an attempt's start and, for the first attempt, the task's waiting time.</summary>
    private void MeasureAttemptStarted(TaskHandle task, NodeRuntime node, int attempt)
    {
        if (TaskDispatchMetrics.StartedCounter.Enabled)
        {
            TaskDispatchMetrics.StartedCounter.Add(1, TaskDispatchMetrics.Tags(Name, node.Name));
        }

        if (attempt != 1 || !MeasureTimings)
        {
            return;
        }

        var waited = TimeProvider.GetElapsedTime(task.SubmittedTimestamp);
        _waitingTimes.Record(waited);
        if (TaskDispatchMetrics.WaitHistogram.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(Name);
            tags.Add(TaskDispatchMetrics.SchedulingPolicyTag, _schedulingName);
            TaskDispatchMetrics.WaitHistogram.Record(waited.TotalSeconds, tags);
        }
    }

    private void MeasureAttemptEnded(NodeRuntime node, TimeSpan processingTime, bool succeeded)
    {
        if (MeasureTimings)
        {
            _processingTimes.Record(processingTime);
        }

        if (TaskDispatchMetrics.AttemptHistogram.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(Name, node.Name);
            tags.Add(TaskDispatchMetrics.OutcomeTag, succeeded ? "completed" : "failed");
            TaskDispatchMetrics.AttemptHistogram.Record(processingTime.TotalSeconds, tags);
        }
    }

    private void MeasureAllocation(TimeSpan decisionTime)
    {
        if (MeasureTimings)
        {
            _allocationTimes.Record(decisionTime);
        }

        if (TaskDispatchMetrics.AllocationHistogram.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(Name);
            tags.Add(TaskDispatchMetrics.AllocationStrategyTag, _allocationName);
            TaskDispatchMetrics.AllocationHistogram.Record(decisionTime.TotalSeconds, tags);
        }
    }

    /// <summary>Records a task's response time and outcome; called once per task as it finishes.</summary>
    private void MeasureFinished(TaskHandle task, TaskState terminal)
    {
        if (MeasureTimings)
        {
            var response = TimeProvider.GetElapsedTime(task.SubmittedTimestamp);
            _responseTimes.Record(response);
            if (TaskDispatchMetrics.ResponseHistogram.Enabled)
            {
                var tags = TaskDispatchMetrics.Tags(Name);
                tags.Add(TaskDispatchMetrics.OutcomeTag, TaskDispatchMetrics.OutcomeName(terminal));
                TaskDispatchMetrics.ResponseHistogram.Record(response.TotalSeconds, tags);
            }
        }

        if (TaskDispatchMetrics.FinishedCounter.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(Name);
            tags.Add(TaskDispatchMetrics.OutcomeTag, TaskDispatchMetrics.OutcomeName(terminal));
            TaskDispatchMetrics.FinishedCounter.Add(1, tags);
        }
    }
}
