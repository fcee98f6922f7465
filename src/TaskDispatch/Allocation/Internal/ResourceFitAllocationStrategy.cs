namespace TaskDispatch;

/// <summary>Resource fit: among the nodes whose free resources fit the task's <see cref="TaskOptions.ResourceDemand"/>
/// (the dispatcher only offers those), the best fit or the most room, by <see cref="ResourceFitMode"/>.</summary>
/// <remarks>
/// A node's room after placement is the mean, over the resources the task demands, of free capacity over capacity; a
/// task without a demand is judged by free slots. A task that fits no node now waits; one that could fit no node even
/// when idle is rejected when it is submitted. O(c × r) for c eligible nodes and r demanded resources.
/// </remarks>
internal sealed class ResourceFitAllocationStrategy : IAllocationStrategy
{
    private readonly ResourceFitMode _mode;

    /// <summary>Creates the strategy.</summary>
    /// <param name="mode">Best fit (the default) or spread.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="mode"/> is not defined.</exception>
    public ResourceFitAllocationStrategy(ResourceFitMode mode = ResourceFitMode.BestFit)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, $"{nameof(mode)} is not a defined {nameof(ResourceFitMode)}.");
        }

        _mode = mode;
    }

    /// <inheritdoc />
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
    {
        var best = -1;
        var bestRoom = 0.0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var room = RoomAfter(candidates[i], task.Options.DemandedResources);
            var better = _mode == ResourceFitMode.BestFit ? room < bestRoom : room > bestRoom;
            if (best < 0 || better)
            {
                best = i;
                bestRoom = room;
            }
        }

        return best;
    }

    /// <summary>The share of the node left free once the task is placed, from 0 (full) to 1 (empty).</summary>
    private static double RoomAfter(NodeSnapshot node, ReadOnlySpan<ResourceAmount> demand)
    {
        var total = 0.0;
        var counted = 0;
        foreach (ref readonly var resource in demand)
        {
            var capacity = node.CapacityOf(resource);
            if (capacity <= 0)
            {
                continue;
            }

            total += (capacity - node.InUseOf(resource) - resource.Amount) / capacity;
            counted++;
        }

        return counted > 0 ? total / counted : (double)(node.FreeSlots - 1) / node.MaxConcurrency;
    }
}
