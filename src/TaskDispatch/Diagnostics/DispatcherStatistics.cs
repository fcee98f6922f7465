namespace TaskDispatch;

/// <summary>A point-in-time view of a dispatcher's work and nodes, readable without any metrics exporter.</summary>
public sealed class DispatcherStatistics
{
    internal DispatcherStatistics(DateTimeOffset timestamp, long liveTasks, long allocationDecisions, TimeSpan allocationTime, IReadOnlyList<NodeStatistics> nodes)
    {
        Timestamp = timestamp;
        LiveTasks = liveTasks;
        AllocationDecisions = allocationDecisions;
        AverageAllocationTime = allocationDecisions == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(allocationTime.Ticks / allocationDecisions);
        Nodes = nodes;
    }

    /// <summary>Gets when the statistics were taken, on the dispatcher's clock.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Gets the accepted tasks that have not reached a terminal state.</summary>
    public long LiveTasks { get; }

    /// <summary>Gets the allocation decisions made (one per placed attempt).</summary>
    public long AllocationDecisions { get; }

    /// <summary>Gets the mean time the allocation strategy took to choose a node.</summary>
    public TimeSpan AverageAllocationTime { get; }

    /// <summary>Gets the current nodes.</summary>
    public IReadOnlyList<NodeStatistics> Nodes { get; }
}
