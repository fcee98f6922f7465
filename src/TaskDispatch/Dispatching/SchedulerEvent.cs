namespace TaskDispatch;

/// <summary>A message to the scheduler, the single owner of the ready queue and of slot accounting.</summary>
internal readonly struct SchedulerEvent
{
    private SchedulerEvent(SchedulerEventKind kind, TaskHandle task, NodeRuntime? node)
    {
        Kind = kind;
        Task = task;
        Node = node;
    }

    internal SchedulerEventKind Kind { get; }

    internal TaskHandle Task { get; }

    /// <summary>The node whose slot is freed; carried explicitly because the task may already be assigned elsewhere.</summary>
    internal NodeRuntime? Node { get; }

    internal static SchedulerEvent Ready(TaskHandle task) => new(SchedulerEventKind.Ready, task, null);

    internal static SchedulerEvent SlotFreed(TaskHandle task, NodeRuntime node) => new(SchedulerEventKind.SlotFreed, task, node);

    internal static SchedulerEvent Removed(TaskHandle task) => new(SchedulerEventKind.Removed, task, null);
}
