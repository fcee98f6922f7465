namespace TaskDispatch;

/// <summary>A point-in-time view of a dispatcher's work and nodes, readable without any metrics exporter.</summary>
public sealed class DispatcherStatistics
{
    internal DispatcherStatistics(
        DateTimeOffset timestamp,
        long liveTasks,
        (long Accepted, long Completed, long Failed, long Cancelled) tasks,
        long allocationDecisions,
        IReadOnlyList<NodeStatistics> nodes,
        RecoveryStatistics recovery,
        long waitingTasks,
        (TimingStatistics Waiting, TimingStatistics Response, TimingStatistics Processing, TimingStatistics Allocation) timings)
    {
        WaitingTasks = waitingTasks;
        WaitingTime = timings.Waiting;
        ResponseTime = timings.Response;
        ProcessingTime = timings.Processing;
        AllocationTime = timings.Allocation;
        Timestamp = timestamp;
        TasksAccepted = tasks.Accepted;
        TasksCompleted = tasks.Completed;
        TasksFailed = tasks.Failed;
        TasksCancelled = tasks.Cancelled;
        Recovery = recovery;
        LiveTasks = liveTasks;
        AllocationDecisions = allocationDecisions;
        AverageAllocationTime = timings.Allocation.Average;
        Nodes = nodes;
    }

    /// <summary>Gets when the statistics were taken, on the dispatcher's clock.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Gets the accepted tasks that have not reached a terminal state.</summary>
    public long LiveTasks { get; }

    /// <summary>Gets the tasks accepted and not running: waiting for their start time, queued, retrying or parked (the queue length).</summary>
    public long WaitingTasks { get; }

    /// <summary>Gets the waiting time of tasks that started: from submission to the start of their first attempt.</summary>
    public TimingStatistics WaitingTime { get; }

    /// <summary>Gets the response time of finished tasks: from submission to their terminal state.</summary>
    public TimingStatistics ResponseTime { get; }

    /// <summary>Gets the processing time of attempts, successful or not.</summary>
    public TimingStatistics ProcessingTime { get; }

    /// <summary>Gets the time allocation decisions took.</summary>
    public TimingStatistics AllocationTime { get; }

    /// <summary>Gets the tasks accepted since the dispatcher started (idempotent resubmissions of a live task not counted again).</summary>
    public long TasksAccepted { get; }

    /// <summary>Gets the tasks that ended <see cref="TaskState.Completed"/>.</summary>
    public long TasksCompleted { get; }

    /// <summary>Gets the tasks that ended <see cref="TaskState.Failed"/>.</summary>
    public long TasksFailed { get; }

    /// <summary>Gets the tasks that ended <see cref="TaskState.Cancelled"/>.</summary>
    public long TasksCancelled { get; }

    /// <summary>Gets how the dispatcher recovered from failures: restarts, recovery time, quarantines, dead letters and loss.</summary>
    public RecoveryStatistics Recovery { get; }

    /// <summary>Gets the allocation decisions made (one per placed attempt).</summary>
    public long AllocationDecisions { get; }

    /// <summary>Gets the mean time the allocation strategy took to choose a node (the mean of <see cref="AllocationTime"/>;
    /// zero when <see cref="TaskDispatcherOptions.MeasureTimings"/> is off).</summary>
    public TimeSpan AverageAllocationTime { get; }

    /// <summary>Gets the current nodes.</summary>
    public IReadOnlyList<NodeStatistics> Nodes { get; }

    /// <summary>Describes the snapshot on a few lines: task counts, timings, recovery and each node.</summary>
    /// <returns>The description, for logs and consoles.</returns>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        text.Append(culture, $"tasks: {TasksAccepted} accepted, {TasksCompleted} completed, {TasksFailed} failed, {TasksCancelled} cancelled, {LiveTasks} live ({WaitingTasks} waiting)").AppendLine();
        text.Append(culture, $"waiting:    {WaitingTime}").AppendLine();
        text.Append(culture, $"response:   {ResponseTime}").AppendLine();
        text.Append(culture, $"processing: {ProcessingTime}").AppendLine();
        text.Append(culture, $"allocation: {AllocationDecisions} decisions, {AllocationTime}").AppendLine();
        text.Append(culture, $"recovery:   {Recovery}");
        foreach (var node in Nodes)
        {
            text.AppendLine().Append(culture, $"node {node}");
        }

        return text.ToString();
    }
}
