namespace TaskDispatch;

/// <summary>A message to the scheduler, the single owner of the ready queue and of slot accounting.</summary>
internal readonly struct SchedulerEvent
{
    private SchedulerEvent(SchedulerEventKind kind, TaskHandle task, NodeRuntime? node, long processingTicks = -1, long placement = 0)
    {
        Kind = kind;
        Task = task;
        Node = node;
        ProcessingTicks = processingTicks;
        Placement = placement;
    }

    internal SchedulerEventKind Kind { get; }

    internal TaskHandle Task { get; }

    /// <summary>The node whose slot is freed; carried explicitly because the task may already be assigned elsewhere.</summary>
    internal NodeRuntime? Node { get; }

    /// <summary>How long the attempt that freed the slot ran when it succeeded, in ticks; -1 otherwise.</summary>
    internal long ProcessingTicks { get; }

    internal static SchedulerEvent Ready(TaskHandle task) => new(SchedulerEventKind.Ready, task, null);

    /// <summary>The placement whose slot is freed (<see cref="TaskHandle.Placement"/> when it was handed to the node).</summary>
    internal long Placement { get; }

    internal static SchedulerEvent SlotFreed(TaskHandle task, NodeRuntime node, TimeSpan? succeededAfter, long placement) =>
        new(SchedulerEventKind.SlotFreed, task, node, succeededAfter?.Ticks ?? -1, placement);

    internal static SchedulerEvent Removed(TaskHandle task) => new(SchedulerEventKind.Removed, task, null);

    /// <summary>A node was taken out of the dispatcher; carries the node, no task.</summary>
    internal static SchedulerEvent NodeRemoved(NodeRuntime node) => new(SchedulerEventKind.NodeRemoved, null!, node);

    /// <summary>Nodes were added, removed or changed health; carries no task.</summary>
    internal static SchedulerEvent NodesChanged() => new(SchedulerEventKind.NodesChanged, null!, null);
}
