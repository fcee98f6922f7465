namespace TaskDispatch;

/// <summary>What a <see cref="SchedulerEvent"/> tells the scheduler.</summary>
internal enum SchedulerEventKind
{
    /// <summary>A task may be scheduled: newly submitted, its start time reached, or retrying.</summary>
    Ready = 0,

    /// <summary>An attempt left its node: the slot and the task's resources are free again.</summary>
    SlotFreed = 1,

    /// <summary>A waiting task ended (cancelled); drop it from the queue.</summary>
    Removed = 2,

    /// <summary>Nodes were added, removed or changed health: recount the free slots and look at waiting tasks again.</summary>
    NodesChanged = 3,

    /// <summary>A node was taken out: close its hand-off channel (inside a step, so no placement is under way), then as <see cref="NodesChanged"/>.</summary>
    NodeRemoved = 4,
}
