namespace TaskDispatch;

/// <summary>The dispatcher's nodes: created, added and removed under one lock (rare), read without it through
/// copy-on-write arrays. Owns each node's runtime state; its health and load are changed by scheduler steps.</summary>
internal sealed class NodeSet
{
    private readonly string _dispatcherName;
    private readonly TimeProvider _timeProvider;
    private readonly NodeCircuitBreakerOptions? _breaker;
    private readonly Action<NodeRuntime, NodeHealth> _onBreakerChanged;

    /// <summary>Serialises adding and removing nodes (rare); readers take the current arrays without it.</summary>
    private readonly Lock _lock = new();

    /// <summary>The live nodes, copy-on-write under <see cref="_lock"/>.</summary>
    private volatile NodeRuntime[] _nodes = [];

    /// <summary>The index the next added node gets; indexes are never reused.</summary>
    private int _nextIndex;

    /// <summary>Set once the dispatcher stops: the set changes no more.</summary>
    private bool _closed;

    internal NodeSet(string dispatcherName, TimeProvider timeProvider, NodeCircuitBreakerOptions? breaker, Action<NodeRuntime, NodeHealth> onBreakerChanged)
    {
        _dispatcherName = dispatcherName;
        _timeProvider = timeProvider;
        _breaker = breaker;
        _onBreakerChanged = onBreakerChanged;
    }

    /// <summary>Gets the current nodes.</summary>
    internal NodeRuntime[] Runtimes => _nodes;

    /// <summary>Takes a view of every current node, in order, as of now.</summary>
    internal NodeSnapshot[] Snapshots => Array.ConvertAll(_nodes, static node => node.State.ToSnapshot());

    /// <summary>Creates a node, starts its workers with <paramref name="start"/> and adds it.</summary>
    /// <exception cref="ArgumentException">Thrown when a node of that name exists.</exception>
    /// <exception cref="InvalidOperationException">Thrown when the dispatcher is stopping or stopped.</exception>
    internal NodeRuntime Add(string name, NodeOptions options, Action<NodeRuntime> start)
    {
        lock (_lock)
        {
            if (_closed)
            {
                throw new InvalidOperationException($"Dispatcher '{_dispatcherName}' is stopping or stopped; its nodes cannot change.");
            }

            if (Find(name) is not null)
            {
                throw new ArgumentException($"Dispatcher '{_dispatcherName}' already has a node named '{name}'.", nameof(name));
            }

            var node = new NodeRuntime(name, _nextIndex++, options) { AddedAt = _timeProvider.GetUtcNow() };
            if (_breaker is not null)
            {
                node.Breaker = new NodeCircuitBreaker(_breaker, node, _timeProvider, _onBreakerChanged);
            }

            start(node);
            _nodes = [.. _nodes, node];
            return node;
        }
    }

    /// <summary>Takes a drained node out of the set, unless it is the last one.</summary>
    /// <returns><see langword="false"/> when the node was already removed.</returns>
    /// <exception cref="InvalidOperationException">Thrown when it is the last node.</exception>
    internal bool Remove(NodeRuntime node)
    {
        lock (_lock)
        {
            if (node.Removed)
            {
                return false;
            }

            ThrowIfLast(node);
            node.Removed = true;
            _nodes = Array.FindAll(_nodes, candidate => !ReferenceEquals(candidate, node));
            return true;
        }
    }

    /// <exception cref="InvalidOperationException">Thrown when <paramref name="node"/> is the only node.</exception>
    internal void ThrowIfLast(NodeRuntime node)
    {
        lock (_lock)
        {
            if (_nodes.Length == 1 && ReferenceEquals(_nodes[0], node))
            {
                throw new InvalidOperationException($"Node '{node.Name}' is the last node of dispatcher '{_dispatcherName}'; add another before removing it.");
            }
        }
    }

    /// <summary>Closes the set at stop: no node is added from now on, and every node's hand-off channel is completed so
    /// that its workers exit once they are idle.</summary>
    /// <returns>The nodes at the time of closing.</returns>
    internal NodeRuntime[] Close()
    {
        lock (_lock)
        {
            // Under the lock, so that a node added concurrently is either refused or completed here.
            _closed = true;
            foreach (var node in _nodes)
            {
                node.Queue.Writer.TryComplete();
            }

            return _nodes;
        }
    }

    internal NodeRuntime? Find(string name)
    {
        foreach (var node in _nodes)
        {
            if (string.Equals(node.Name, name, StringComparison.Ordinal))
            {
                return node;
            }
        }

        return null;
    }

    /// <exception cref="ArgumentNullException">Thrown when <paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when no node has that name.</exception>
    internal NodeRuntime Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Find(name) ?? throw new ArgumentException($"Dispatcher '{_dispatcherName}' has no node named '{name}'.", nameof(name));
    }

    /// <summary>Gets the slots in use over all current nodes.</summary>
    internal long ActiveTasks()
    {
        long active = 0;
        foreach (var node in _nodes)
        {
            active += node.State.ActiveTasks;
        }

        return active;
    }

    /// <summary>Gets how each current node has been used, as of <paramref name="now"/>.</summary>
    internal NodeStatistics[] GetStatistics(DateTimeOffset now)
    {
        var nodes = _nodes;
        var statistics = new NodeStatistics[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            var node = nodes[i];
            statistics[i] = new NodeStatistics(node.State.ToSnapshot(), node.AttemptsStarted, TimeSpan.FromTicks(node.BusyTicks), now - node.AddedAt, node.Breaker?.Quarantines ?? 0);
        }

        return statistics;
    }
}
