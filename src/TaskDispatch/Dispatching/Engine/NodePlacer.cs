using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>Chooses the node for a task: narrows the nodes to those that can take it now (free slot, health, required
/// node, tags and resources, nodes that failed it, preferred tags) and asks the allocation strategy among them. Owns
/// the candidates' scratch space and counts decisions; called only from scheduler steps.</summary>
internal sealed class NodePlacer
{
    private readonly IAllocationStrategy _allocation;
    private readonly string _allocationName;
    private readonly NodeSet _nodes;
    private readonly TaskTimings _timings;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Scratch space for the eligible nodes of one decision, grown as nodes are added.</summary>
    private NodeSnapshot[] _candidates = new NodeSnapshot[4];

    /// <summary>Allocation decisions made; written only by steps.</summary>
    private long _decisions;

    internal NodePlacer(IAllocationStrategy allocation, NodeSet nodes, TaskTimings timings, TimeProvider timeProvider, ILogger logger)
    {
        _allocation = allocation;
        _allocationName = allocation.GetType().Name;
        _nodes = nodes;
        _timings = timings;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets the number of allocation decisions made.</summary>
    internal long Decisions => Interlocked.Read(ref _decisions);

    /// <summary>Makes room for <paramref name="nodeCount"/> candidates.</summary>
    internal void EnsureCapacity(int nodeCount)
    {
        if (_candidates.Length < nodeCount)
        {
            _candidates = new NodeSnapshot[nodeCount * 2];
        }
    }

    /// <summary>Asks the allocation strategy for a node among those that can take the task now.</summary>
    /// <param name="task">The task to place.</param>
    /// <param name="target">The chosen node, when the answer is <see cref="PlacementChoice.Chosen"/>.</param>
    internal PlacementChoice Choose(TaskHandle task, out NodeRuntime? target)
    {
        target = null;
        var count = 0;
        var nodes = _nodes.Runtimes;

        // A node was added and its NodesChanged event may still be queued.
        EnsureCapacity(nodes.Length);
        var constrained = task.HasPlacementConstraints;
        if (task.PinnedNode is { } pinned)
        {
            // The recovery policy asked for the same node: wait for its slot, unless it is gone or can never take the task.
            if (!pinned.Removed && pinned.State.IsAcceptingWork && pinned.State.CanEverRun(task.Options))
            {
                return pinned.CanRunNow(task, constrained) ? ChooseAmong(task, pinned.State.ToSnapshot(), out target) : PlacementChoice.Wait;
            }

            task.PinnedNode = null;
        }

        var excluded = task.ExcludedNodes;
        foreach (var node in nodes)
        {
            if (node.CanRunNow(task, constrained) && (excluded is null || Array.IndexOf(excluded, node) < 0))
            {
                _candidates[count++] = node.State.ToSnapshot();
            }
        }

        if (count == 0)
        {
            // A task kept off the nodes that failed it waits for the others; once no other node could take it at all,
            // a failed node (perhaps recovered) is better than waiting forever.
            if (excluded is not null && !AnyOtherNodeCouldRun(task, excluded))
            {
                task.ExcludedNodes = null;
                return Choose(task, out target);
            }

            return PlacementChoice.Wait;
        }

        if (task.Options.PreferredTags is { Count: > 0 } preferred)
        {
            count = KeepMostPreferred(_candidates, preferred, count);
        }

        return AskStrategy(task, count, out target);
    }

    /// <summary>Offers the strategy the one node a retry is pinned to, so that it is still asked (and may decline).</summary>
    private PlacementChoice ChooseAmong(TaskHandle task, NodeSnapshot only, out NodeRuntime? target)
    {
        _candidates[0] = only;
        return AskStrategy(task, 1, out target);
    }

    /// <summary>Asks the allocation strategy among the first <paramref name="count"/> candidates.</summary>
    private PlacementChoice AskStrategy(TaskHandle task, int count, out NodeRuntime? target)
    {
        target = null;

        int chosen;
        try
        {
            var timed = _timings.TimesAllocation;
            var decisionStarted = timed ? _timeProvider.GetTimestamp() : 0;
            chosen = _allocation.SelectNode(task, new ReadOnlySpan<NodeSnapshot>(_candidates, 0, count));
            if (timed)
            {
                _timings.MeasureAllocation(_timeProvider.GetElapsedTime(decisionStarted));
            }

            _decisions++;
            if (chosen >= count || chosen < -1)
            {
                throw new InvalidOperationException($"{_allocationName}.SelectNode returned {chosen} for {count} candidate(s); expected -1 or an index below {count}.");
            }
        }
        catch (Exception exception)
        {
            Log.AllocationStrategyFailed(_logger, task.Id, exception);
            task.TryFinish(TaskState.Failed, exception);
            return PlacementChoice.Ended;
        }

        if (chosen < 0)
        {
            return PlacementChoice.Wait;
        }

        var runtime = _candidates[chosen].Runtime;
        if (runtime.Removed)
        {
            // Taken out after it drained, and a health set back by hand made it a candidate again: its channel closes
            // in a later step, so the task waits for another node.
            return PlacementChoice.Wait;
        }

        TaskTracing.TracePlacement(task, _allocationName, _candidates[chosen], count);
        target = runtime;
        return PlacementChoice.Chosen;
    }

    /// <summary>Narrows the first <paramref name="count"/> candidates to those carrying the most preferred tags; keeps
    /// their order. Shared with the policy simulator, so that both narrow alike.</summary>
    /// <returns>How many candidates are kept, at the front of <paramref name="candidates"/>.</returns>
    internal static int KeepMostPreferred(NodeSnapshot[] candidates, IReadOnlyCollection<string> preferred, int count)
    {
        var most = 0;
        for (var i = 0; i < count; i++)
        {
            most = Math.Max(most, CountPreferred(candidates[i], preferred));
        }

        if (most == 0)
        {
            return count;
        }

        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            if (CountPreferred(candidates[i], preferred) == most)
            {
                candidates[kept++] = candidates[i];
            }
        }

        return kept;

        static int CountPreferred(NodeSnapshot node, IReadOnlyCollection<string> preferred)
        {
            var matches = 0;
            foreach (var tag in preferred)
            {
                if (node.Tags.Contains(tag))
                {
                    matches++;
                }
            }

            return matches;
        }
    }

    /// <summary>Tells whether a node outside <paramref name="excluded"/> takes work and could run the task when free.</summary>
    private bool AnyOtherNodeCouldRun(TaskHandle task, NodeRuntime[] excluded)
    {
        foreach (var node in _nodes.Runtimes)
        {
            if (node.State.IsAcceptingWork && Array.IndexOf(excluded, node) < 0 && node.State.CanEverRun(task.Options))
            {
                return true;
            }
        }

        return false;
    }

}
