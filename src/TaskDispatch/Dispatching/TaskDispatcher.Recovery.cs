namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    /// <summary>Tasks accepted (registered), striped: every submission counts here.</summary>
    private readonly StripedCounter _accepted = new();

    /// <summary>Tasks completed, striped: every successful task counts here.</summary>
    private readonly StripedCounter _completed = new();

    private long _failedTasks;
    private long _cancelledTasks;
    private long _attemptFailures;
    private long _nodeFaults;
    private long _attemptsAbandoned;
    private long _restarts;
    private long _restartDelayTicks;
    private long _recoveredTasks;
    private long _recoveryTicks;
    private long _quarantines;
    private long _lostTasks;

    /// <summary>Gets how many tasks ended failed: the dead letters ever listed.</summary>
    internal long FailedTaskCount => Interlocked.Read(ref _failedTasks);

    /// <summary>Counts a task reaching its terminal state.</summary>
    private void CountFinished(TaskState terminal)
    {
        switch (terminal)
        {
            case TaskState.Completed:
                _completed.Increment();
                break;
            case TaskState.Failed:
                Interlocked.Increment(ref _failedTasks);
                TaskDispatchMetrics.DeadLetterCounter.Add(1, TaskDispatchMetrics.Tags(Name));
                break;
            default:
                Interlocked.Increment(ref _cancelledTasks);
                break;
        }
    }

    /// <summary>Counts a failed attempt and, when it is retried, a restart.</summary>
    private void CountAttemptFailure(NodeRuntime node, Exception error, bool isNodeFault)
    {
        Interlocked.Increment(ref _attemptFailures);
        if (isNodeFault)
        {
            Interlocked.Increment(ref _nodeFaults);
        }

        var tags = TaskDispatchMetrics.Tags(Name, node.Name);
        tags.Add(TaskDispatchMetrics.FaultTag, TaskDispatchMetrics.FaultName(isNodeFault, error));
        TaskDispatchMetrics.AttemptFailureCounter.Add(1, tags);
    }

    private void CountRestart(Exception error, bool isNodeFault)
    {
        Interlocked.Increment(ref _restarts);
        var tags = TaskDispatchMetrics.Tags(Name);
        tags.Add(TaskDispatchMetrics.FaultTag, TaskDispatchMetrics.FaultName(isNodeFault, error));
        TaskDispatchMetrics.RestartCounter.Add(1, tags);
    }

    private void CountAbandoned(NodeRuntime node)
    {
        Interlocked.Increment(ref _attemptsAbandoned);
        TaskDispatchMetrics.AbandonedCounter.Add(1, TaskDispatchMetrics.Tags(Name, node.Name));
    }

    /// <summary>Records the time from a task's last failure to the start of this, its next attempt.</summary>
    private void CountRestartDelay(TaskHandle task)
    {
        var delay = TimeProvider.GetElapsedTime(task.LastFailureTimestamp);
        Interlocked.Add(ref _restartDelayTicks, delay.Ticks);
        TaskDispatchMetrics.RestartDelayHistogram.Record(delay.TotalSeconds, TaskDispatchMetrics.Tags(Name));
    }

    /// <summary>Records the time from a completed task's first failure to its completion.</summary>
    private void CountRecovered(TaskHandle task)
    {
        var duration = TimeProvider.GetElapsedTime(task.FirstFailureTimestamp);
        Interlocked.Increment(ref _recoveredTasks);
        Interlocked.Add(ref _recoveryTicks, duration.Ticks);
        TaskDispatchMetrics.RecoveryDurationHistogram.Record(duration.TotalSeconds, TaskDispatchMetrics.Tags(Name));
    }

    private void CountQuarantine(NodeRuntime node)
    {
        Interlocked.Increment(ref _quarantines);
        TaskDispatchMetrics.QuarantineCounter.Add(1, TaskDispatchMetrics.Tags(Name, node.Name));
    }

    /// <summary>Counts the tasks accepted but not terminal once the dispatcher has stopped: the loss the engine promises never happens.</summary>
    private void CountLostTasks()
    {
        var lost = _accepted.Value - (_completed.Value + Interlocked.Read(ref _failedTasks) + Interlocked.Read(ref _cancelledTasks));
        if (lost > 0)
        {
            Interlocked.Exchange(ref _lostTasks, lost);
            TaskDispatchMetrics.LostTaskCounter.Add(lost, TaskDispatchMetrics.Tags(Name));
        }
    }

    private RecoveryStatistics GetRecoveryStatistics() => new(
        Interlocked.Read(ref _attemptFailures),
        Interlocked.Read(ref _nodeFaults),
        Interlocked.Read(ref _attemptsAbandoned),
        Interlocked.Read(ref _restarts),
        TimeSpan.FromTicks(Interlocked.Read(ref _restartDelayTicks)),
        Interlocked.Read(ref _recoveredTasks),
        TimeSpan.FromTicks(Interlocked.Read(ref _recoveryTicks)),
        Interlocked.Read(ref _quarantines),
        Interlocked.Read(ref _failedTasks),
        Interlocked.Read(ref _lostTasks),
        _accepted.Value);
}
