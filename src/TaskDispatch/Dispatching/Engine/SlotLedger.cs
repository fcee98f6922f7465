namespace TaskDispatch;

/// <summary>Keeps the books on node slots for the scheduler: the free slots over all nodes, each node's load, probe and
/// reserved resources as tasks are handed out and slots come back, and health changes taking effect. Written only by
/// scheduler steps; the free-slot count is also read by posters deciding whether a step is worth running.</summary>
internal sealed class SlotLedger(int freeSlots)
{
    /// <summary>Free slots over all nodes that take work.</summary>
    private int _freeSlots = freeSlots;

    /// <summary>Hand-offs to nodes so far, numbering each (<see cref="TaskHandle.Placement"/>).</summary>
    private long _placements;

    /// <summary>Gets whether some node has a free slot; read from any thread, so only a hint outside steps.</summary>
    internal bool HasFreeSlots => Volatile.Read(ref _freeSlots) > 0;

    /// <summary>Counts a task handed to <paramref name="target"/>: its slot, its resources, its placement number and,
    /// on a probing node, the probe.</summary>
    internal void Assign(TaskHandle task, NodeRuntime target)
    {
        var state = target.State;
        var offered = state.OfferedSlots;
        state.ActiveTasks++;
        state.TasksAssigned++;
        task.Placement = ++_placements;
        if (state.Health == NodeHealth.Probing)
        {
            state.ProbePlacement = task.Placement;
        }

        _freeSlots += state.OfferedSlots - offered;
        if (task.Options.PositiveDemand is { Length: > 0 } demand)
        {
            state.Reserve(demand, +1);
        }
    }

    /// <summary>Takes back the slot (and resources) of an attempt of <paramref name="task"/> placed as
    /// <paramref name="placement"/>; signals the node drained when it was draining and is now idle.</summary>
    internal void Release(TaskHandle task, NodeRuntime node, long placement)
    {
        var state = node.State;
        var offered = state.OfferedSlots;
        state.ActiveTasks--;
        if (state.ProbePlacement == placement)
        {
            // The probe is over; if it decided nothing (it never ran), the next task may probe.
            state.ProbePlacement = 0;
        }

        if (!node.Removed)
        {
            _freeSlots += state.OfferedSlots - offered;
        }

        if (state.ActiveTasks == 0 && state.Health == NodeHealth.Draining)
        {
            node.Drained.TrySetResult();
        }

        System.Diagnostics.Debug.Assert(state.ActiveTasks >= 0, "A node freed more slots than it had in use.");
        if (task.Options.PositiveDemand is { Length: > 0 } demand)
        {
            state.Reserve(demand, -1);
        }
    }

    /// <summary>Applies the health each node was asked to take (between decisions, never in the middle of one), signals
    /// drained nodes, and recounts the free slots of the nodes that take work.</summary>
    internal void Recount(NodeRuntime[] nodes)
    {
        var free = 0;
        foreach (var node in nodes)
        {
            var state = node.State;
            state.Health = node.RequestedHealth;
            if (state.Health != NodeHealth.Probing)
            {
                state.ProbePlacement = 0;
            }

            free += state.OfferedSlots;
            if (state.Health == NodeHealth.Draining && state.ActiveTasks == 0)
            {
                node.Drained.TrySetResult();
            }
        }

        Volatile.Write(ref _freeSlots, free);
    }
}
