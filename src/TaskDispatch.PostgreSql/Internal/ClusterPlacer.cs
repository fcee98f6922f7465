namespace TaskDispatch;

/// <summary>Places tasks on the cluster's live nodes with the allocation strategy, over snapshots whose load comes from
/// the store (refreshed at each heartbeat) plus what this member placed since, so that a burst spreads as it would in
/// one process. Eligibility (required node, tags, resources) is checked as the in-process dispatcher checks it.</summary>
internal sealed class ClusterPlacer(IAllocationStrategy strategy)
{
    private readonly Lock _gate = new();
    private LiveNode[] _nodes = [];

    // Reused by every placement, under the gate: a submission places each of its tasks, and a list and two arrays per
    // task were a twentieth of what the throughput benchmark allocated. The strategy sees the snapshots as a span, so
    // it cannot keep them.
    private readonly List<LiveNode> _candidates = [];
    private NodeSnapshot[] _snapshots = [];

    /// <summary>A live node: its description, a state for eligibility checks, and its load.</summary>
    internal sealed class LiveNode(string name, NodeOptions options, int index, int load)
    {
        // Built once per refresh, not per placement: a snapshot from options builds the node's state (resource tables).
        private readonly NodeSnapshot _snapshot = new(name, index, options);

        internal string Name { get; } = name;

        internal NodeOptions Options { get; } = options;

        internal NodeState State { get; } = new(name, index, options);

        internal int Load { get; set; } = load;

        internal NodeSnapshot Snapshot(int index) => _snapshot with { Index = index, ActiveTasks = Load };
    }

    internal int LiveCount => Volatile.Read(ref _nodes).Length;

    /// <summary>Replaces the view of the cluster with what the store says now.</summary>
    internal void Refresh(IEnumerable<(string Name, NodeOptions Options, int Load)> live)
    {
        var nodes = live.Select((node, index) => new LiveNode(node.Name, node.Options, index, node.Load)).ToArray();
        lock (_gate)
        {
            _nodes = nodes;
        }
    }

    /// <summary>Takes nodes just declared dead out of the view, keeping the others' loads until the next refresh: the
    /// reaper places their tasks right after, and reading the whole cluster's load first (a count of each node's queue, a
    /// look-up of every leased task) would hold the recovery up by as long as that read takes on a busy server.</summary>
    internal void Remove(IReadOnlyCollection<string> dead)
    {
        lock (_gate)
        {
            _nodes = Array.FindAll(_nodes, node => !dead.Contains(node.Name));
        }
    }

    /// <summary>Chooses a node for <paramref name="task"/>, or <see langword="null"/> when no live node can take it (it
    /// waits unplaced until one can). <paramref name="excluded"/> is a node that just failed it.</summary>
    internal string? Place(TaskHandle task, string? excluded = null)
    {
        lock (_gate)
        {
            var candidates = _candidates;
            candidates.Clear();
            foreach (var node in _nodes)
            {
                if (node.State.CanEverRun(task.Options) && node.Name != excluded)
                {
                    candidates.Add(node);
                }
            }

            if (candidates.Count == 0 && excluded is not null)
            {
                return Place(task);
            }

            if (candidates.Count == 0)
            {
                return null;
            }

            if (task.Options.PreferredTags is { Count: > 0 } preferred)
            {
                var most = candidates.Max(node => preferred.Count(node.Options.Tags.Contains));
                if (most > 0)
                {
                    candidates.RemoveAll(node => preferred.Count(node.Options.Tags.Contains) < most);
                }
            }

            if (_snapshots.Length < candidates.Count)
            {
                _snapshots = new NodeSnapshot[candidates.Count];
            }

            var snapshots = _snapshots.AsSpan(0, candidates.Count);
            for (var i = 0; i < snapshots.Length; i++)
            {
                snapshots[i] = candidates[i].Snapshot(i);
            }

            var chosen = strategy.SelectNode(task, snapshots);
            if (chosen < 0)
            {
                return null;
            }

            if (chosen >= snapshots.Length)
            {
                throw new InvalidOperationException($"{strategy.GetType().Name}.SelectNode returned {chosen} for {snapshots.Length} candidate(s); expected -1 or an index below {snapshots.Length}.");
            }

            candidates[chosen].Load++;
            return candidates[chosen].Name;
        }
    }
}
