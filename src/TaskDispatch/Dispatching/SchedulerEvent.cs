namespace TaskDispatch;

/// <summary>A message to the scheduler, the single owner of the ready queue and of slot accounting.</summary>
internal readonly struct SchedulerEvent
{
    private SchedulerEvent(SchedulerEventKind kind, TaskHandle task, NodeRuntime? node, long processingTicks = -1)
    {
        Kind = kind;
        Task = task;
        Node = node;
        ProcessingTicks = processingTicks;
    }

    internal SchedulerEventKind Kind { get; }

    internal TaskHandle Task { get; }

    /// <summary>The node whose slot is freed; carried explicitly because the task may already be assigned elsewhere.</summary>
    internal NodeRuntime? Node { get; }

    /// <summary>How long the attempt that freed the slot ran when it succeeded, in ticks; -1 otherwise.</summary>
    internal long ProcessingTicks { get; }

    internal static SchedulerEvent Ready(TaskHandle task) => new(SchedulerEventKind.Ready, task, null);

    internal static SchedulerEvent SlotFreed(TaskHandle task, NodeRuntime node, TimeSpan? succeededAfter) =>
        new(SchedulerEventKind.SlotFreed, task, node, succeededAfter?.Ticks ?? -1);

    internal static SchedulerEvent Removed(TaskHandle task) => new(SchedulerEventKind.Removed, task, null);

    /// <summary>Nodes were added, removed or changed health; carries no task.</summary>
    internal static SchedulerEvent NodesChanged() => new(SchedulerEventKind.NodesChanged, null!, null);
}
