namespace TaskDispatch;

/// <summary>How one node has been used since it was added, as of <see cref="DispatcherStatistics.Timestamp"/>.</summary>
public sealed class NodeStatistics
{
    internal NodeStatistics(NodeSnapshot node, long attemptsStarted, TimeSpan busyTime, TimeSpan uptime, long quarantines)
    {
        Quarantines = quarantines;
        Name = node.Name;
        Health = node.Health;
        MaxConcurrency = node.MaxConcurrency;
        ActiveTasks = node.ActiveTasks;
        TasksAssigned = node.TasksAssigned;
        AttemptsStarted = attemptsStarted;
        BusyTime = busyTime;
        Uptime = uptime;
    }

    /// <summary>Gets the node's name.</summary>
    public string Name { get; }

    /// <summary>Gets the node's health.</summary>
    public NodeHealth Health { get; }

    /// <summary>Gets the node's slots.</summary>
    public int MaxConcurrency { get; }

    /// <summary>Gets the slots in use: tasks assigned to the node and not yet finished.</summary>
    public int ActiveTasks { get; }

    /// <summary>Gets the tasks the scheduler has handed to the node.</summary>
    public long TasksAssigned { get; }

    /// <summary>Gets the attempts that started on the node (retries included).</summary>
    public long AttemptsStarted { get; }

    /// <summary>Gets how many times the node's circuit breaker quarantined it.</summary>
    public long Quarantines { get; }

    /// <summary>Gets the slot-time spent running attempts: two attempts of one second on two slots make two seconds.</summary>
    public TimeSpan BusyTime { get; }

    /// <summary>Gets how long the node has been part of the dispatcher.</summary>
    public TimeSpan Uptime { get; }

    /// <summary>Gets the share of the node's capacity spent running work: <see cref="BusyTime"/> over
    /// <see cref="MaxConcurrency"/> × <see cref="Uptime"/>, from 0 to 1. This is also its average load over its life.</summary>
    public double Utilization => Uptime <= TimeSpan.Zero ? 0 : Math.Min(1, BusyTime.Ticks / ((double)MaxConcurrency * Uptime.Ticks));

    /// <summary>Describes the node on one line: health, busy slots, work done and utilization.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Name}: {Health}, {ActiveTasks}/{MaxConcurrency} slots busy, {TasksAssigned} assigned, {AttemptsStarted} attempts, {Quarantines} quarantines, utilization {Utilization:P1}");
}
