namespace TaskDispatch;

/// <summary>How a dispatcher has recovered from failures since it started: the recovery part of <see cref="DispatcherStatistics"/>.</summary>
public sealed class RecoveryStatistics
{
    internal RecoveryStatistics(
        long attemptFailures,
        long nodeFaults,
        long attemptsAbandoned,
        long restarts,
        TimeSpan totalRestartDelay,
        long tasksRecovered,
        TimeSpan totalRecoveryTime,
        long quarantines,
        long deadLetters,
        long lostTasks,
        long tasksAccepted)
    {
        AttemptFailures = attemptFailures;
        NodeFaults = nodeFaults;
        AttemptsAbandoned = attemptsAbandoned;
        Restarts = restarts;
        AverageRestartDelay = restarts == 0 ? TimeSpan.Zero : totalRestartDelay / restarts;
        TasksRecovered = tasksRecovered;
        AverageRecoveryTime = tasksRecovered == 0 ? TimeSpan.Zero : totalRecoveryTime / tasksRecovered;
        Quarantines = quarantines;
        DeadLetters = deadLetters;
        LostTasks = lostTasks;
        LossRate = tasksAccepted == 0 ? 0 : (double)lostTasks / tasksAccepted;
    }

    /// <summary>Gets the attempts that failed, whatever happened next.</summary>
    public long AttemptFailures { get; }

    /// <summary>Gets the failed attempts that were node faults.</summary>
    public long NodeFaults { get; }

    /// <summary>Gets the attempts the engine gave up because their node was marked unavailable or they missed heartbeats.</summary>
    public long AttemptsAbandoned { get; }

    /// <summary>Gets the restarts: failed attempts that the recovery policy retried.</summary>
    public long Restarts { get; }

    /// <summary>Gets the mean time from a failed attempt to the start of the task's next attempt.</summary>
    public TimeSpan AverageRestartDelay { get; }

    /// <summary>Gets the tasks that completed after at least one failed attempt.</summary>
    public long TasksRecovered { get; }

    /// <summary>Gets the mean time from a recovered task's first failure to its completion.</summary>
    public TimeSpan AverageRecoveryTime { get; }

    /// <summary>Gets the times a circuit breaker quarantined a node.</summary>
    public long Quarantines { get; }

    /// <summary>Gets the tasks that ended failed (all went to the dead letters, which may have evicted some since).</summary>
    public long DeadLetters { get; }

    /// <summary>Gets the tasks that were accepted but not terminal when the dispatcher stopped; 0 while it runs.</summary>
    public long LostTasks { get; }

    /// <summary>Gets <see cref="LostTasks"/> over the tasks accepted: the task loss rate, which must be 0.</summary>
    public double LossRate { get; }

    /// <summary>Describes the recovery figures on one line.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{AttemptFailures} failed attempts ({NodeFaults} node faults, {AttemptsAbandoned} abandoned), {Restarts} restarts (mean delay {AverageRestartDelay.TotalMilliseconds:0.###} ms), {TasksRecovered} recovered (mean {AverageRecoveryTime.TotalMilliseconds:0.###} ms), {Quarantines} quarantines, {DeadLetters} dead letters, {LostTasks} lost (rate {LossRate:0.####})");
}
