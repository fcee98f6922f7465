namespace TaskDispatch;

/// <summary>Counts what became of a dispatcher's tasks and attempts, for <see cref="DispatcherStatistics"/> and the
/// meter's counters. Thread-safe; owns nothing but its counts.</summary>
internal sealed class TaskCounters(string dispatcherName, TaskDispatchInstruments instruments)
{
    /// <summary>Striped: every submission counts, from any number of submitters.</summary>
    private readonly StripedCounter _accepted = new();

    /// <summary>Striped: every completion counts, from every worker.</summary>
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

    /// <summary>Gets how many tasks ended <see cref="TaskState.Failed"/>.</summary>
    internal long FailedTasks => Interlocked.Read(ref _failedTasks);

    /// <summary>Gets the accepted, completed, failed and cancelled counts, terminal counts read first, so that a task
    /// finishing meanwhile shows as accepted and live rather than finished twice.</summary>
    internal (long Accepted, long Completed, long Failed, long Cancelled) TaskCounts()
    {
        var completed = _completed.Value;
        var failed = Interlocked.Read(ref _failedTasks);
        var cancelled = Interlocked.Read(ref _cancelledTasks);
        return (_accepted.Value, completed, failed, cancelled);
    }

    internal void CountAccepted() => _accepted.Increment();

    internal void CountFinished(TaskState terminal)
    {
        switch (terminal)
        {
            case TaskState.Completed:
                _completed.Increment();
                break;
            case TaskState.Failed:
                Interlocked.Increment(ref _failedTasks);
                instruments.DeadLetterCounter.Add(1, TaskDispatchMetrics.Tags(dispatcherName));
                break;
            default:
                Interlocked.Increment(ref _cancelledTasks);
                break;
        }
    }

    internal void CountAttemptFailure(string nodeName, Exception error, bool isNodeFault)
    {
        Interlocked.Increment(ref _attemptFailures);
        if (isNodeFault)
        {
            Interlocked.Increment(ref _nodeFaults);
        }

        if (instruments.AttemptFailureCounter.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(dispatcherName, nodeName);
            tags.Add(TaskDispatchMetrics.FaultTag, TaskDispatchMetrics.FaultName(isNodeFault, error));
            tags.Add(TaskDispatchMetrics.ErrorTypeTag, TaskDispatchMetrics.ErrorTypeName(error));
            instruments.AttemptFailureCounter.Add(1, tags);
        }
    }

    internal void CountRestart(Exception error, bool isNodeFault)
    {
        Interlocked.Increment(ref _restarts);
        if (instruments.RestartCounter.Enabled)
        {
            var tags = TaskDispatchMetrics.Tags(dispatcherName);
            tags.Add(TaskDispatchMetrics.FaultTag, TaskDispatchMetrics.FaultName(isNodeFault, error));
            tags.Add(TaskDispatchMetrics.ErrorTypeTag, TaskDispatchMetrics.ErrorTypeName(error));
            instruments.RestartCounter.Add(1, tags);
        }
    }

    internal void CountAbandoned(string nodeName)
    {
        Interlocked.Increment(ref _attemptsAbandoned);
        instruments.AbandonedCounter.Add(1, TaskDispatchMetrics.Tags(dispatcherName, nodeName));
    }

    internal void CountRestartDelay(TimeSpan delay)
    {
        Interlocked.Add(ref _restartDelayTicks, delay.Ticks);
        instruments.RestartDelayHistogram.Record(delay.TotalSeconds, TaskDispatchMetrics.Tags(dispatcherName));
    }

    internal void CountRecovered(TimeSpan duration)
    {
        Interlocked.Increment(ref _recoveredTasks);
        Interlocked.Add(ref _recoveryTicks, duration.Ticks);
        instruments.RecoveryDurationHistogram.Record(duration.TotalSeconds, TaskDispatchMetrics.Tags(dispatcherName));
    }

    internal void CountQuarantine(string nodeName)
    {
        Interlocked.Increment(ref _quarantines);
        instruments.QuarantineCounter.Add(1, TaskDispatchMetrics.Tags(dispatcherName, nodeName));
    }

    /// <summary>Counts, once the dispatcher has stopped, the accepted tasks that never reached a terminal state.</summary>
    internal void CountLostTasks()
    {
        var (accepted, completed, failed, cancelled) = TaskCounts();
        var lost = accepted - (completed + failed + cancelled);
        if (lost > 0)
        {
            Interlocked.Exchange(ref _lostTasks, lost);
            instruments.LostTaskCounter.Add(lost, TaskDispatchMetrics.Tags(dispatcherName));
        }
    }

    internal RecoveryStatistics GetRecoveryStatistics() => new(
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
