namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    /// <inheritdoc />
    public NodeSnapshot AddNode(string name, Action<NodeOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = new NodeOptions();
        configure?.Invoke(options);
        options.Validate(name);

        NodeRuntime node;
        lock (_nodesLock)
        {
            ThrowIfStopped();
            if (FindNode(name) is not null)
            {
                throw new ArgumentException($"Dispatcher '{Name}' already has a node named '{name}'.", nameof(name));
            }

            node = CreateNode(name, _nextNodeIndex++, options);
            StartWorkers(node);
            _nodeSnapshots = [.. _nodeSnapshots, node.Snapshot];
            _nodes = [.. _nodes, node];
        }

        Post(SchedulerEvent.NodesChanged());
        return node.Snapshot;
    }

    /// <inheritdoc />
    public void SetNodeHealth(string name, NodeHealth health)
    {
        if (!Enum.IsDefined(health))
        {
            throw new ArgumentOutOfRangeException(nameof(health), health, $"{nameof(health)} is not a defined {nameof(NodeHealth)}.");
        }

        var node = GetNode(name);
        lock (node)
        {
            if (health == NodeHealth.Draining && node.RequestedHealth != NodeHealth.Draining)
            {
                node.RearmDrainSignal();
            }

            node.RequestedHealth = health;
            node.Breaker?.Reset();
        }

        Post(SchedulerEvent.NodesChanged());
        WaitUntilApplied(node, health);
        if (health == NodeHealth.Unavailable)
        {
            // See RunAttemptAsync: the health is visible before the slots are read.
            Interlocked.MemoryBarrier();
            AbandonRunningAttempts(node, $"Node '{name}' was marked unavailable.");
        }
    }

    /// <summary>Waits for the scheduler step that applies a health set by hand, so that the caller reads back what it set
    /// and no placement decided after this returns uses the old health. Steps never block, so the wait is short.</summary>
    private void WaitUntilApplied(NodeRuntime node, NodeHealth health)
    {
        var spinner = default(SpinWait);
        while (node.Snapshot.Health != health
            && node.RequestedHealth == health
            && !node.Removed
            && _fault is null
            && Volatile.Read(ref _stepThread) != Environment.CurrentManagedThreadId)
        {
            // The step that applies it may have been handed to the thread pool: make sure one runs.
            if (Volatile.Read(ref _stepping) == 0)
            {
                RunSchedulerSteps();
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>Gives up every attempt running on a failed node, as node faults: their tasks move to other nodes.</summary>
    private void AbandonRunningAttempts(NodeRuntime node, string reason)
    {
        foreach (var slot in node.Slots)
        {
            if (slot.Current is { } context)
            {
                AbandonAttempt(context, new NodeFailureException($"{reason} Task '{context.TaskId}' attempt {context.Attempt} was moved off it.") { NodeName = node.Name });
            }
        }
    }

    /// <inheritdoc />
    public Task DrainNodeAsync(string name, CancellationToken cancellationToken = default)
    {
        var node = GetNode(name);
        Task drained;
        lock (node)
        {
            if (node.RequestedHealth != NodeHealth.Draining)
            {
                node.RearmDrainSignal();
                node.RequestedHealth = NodeHealth.Draining;
                node.Breaker?.Reset();
            }

            drained = node.Drained.Task;
        }

        Post(SchedulerEvent.NodesChanged());
        WaitUntilApplied(node, NodeHealth.Draining);
        return drained.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task RemoveNodeAsync(string name, CancellationToken cancellationToken = default)
    {
        var node = GetNode(name);
        lock (_nodesLock)
        {
            if (_nodes.Length == 1 && ReferenceEquals(_nodes[0], node))
            {
                throw new InvalidOperationException($"Node '{name}' is the last node of dispatcher '{Name}'; add another before removing it.");
            }
        }

        await DrainNodeAsync(name, cancellationToken).ConfigureAwait(false);
        lock (_nodesLock)
        {
            if (node.Removed)
            {
                return;
            }

            if (_nodes.Length == 1)
            {
                throw new InvalidOperationException($"Node '{name}' is the last node of dispatcher '{Name}'; add another before removing it.");
            }

            node.Removed = true;
            _nodes = Array.FindAll(_nodes, candidate => !ReferenceEquals(candidate, node));
            _nodeSnapshots = Array.ConvertAll(_nodes, static candidate => candidate.Snapshot);
        }

        // A step closes its channel, between placements: its workers finish what they were handed and exit; waiting
        // tasks that only it could run are failed by that step.
        Post(SchedulerEvent.NodeRemoved(node));
    }

    /// <inheritdoc />
    public DispatcherStatistics GetStatistics()
    {
        var now = TimeProvider.GetUtcNow();
        var statistics = GetNodeStatistics(now);

        // Terminal counts first: a task that finishes meanwhile then shows as accepted and live rather than finished twice.
        var completed = _completed.Value;
        var failed = Interlocked.Read(ref _failedTasks);
        var cancelled = Interlocked.Read(ref _cancelledTasks);
        return new DispatcherStatistics(
            now,
            LiveTaskCount,
            (_accepted.Value, completed, failed, cancelled),
            Interlocked.Read(ref _allocationDecisions),
            statistics,
            GetRecoveryStatistics(),
            WaitingTaskCount,
            (_waitingTimes.Snapshot(), _responseTimes.Snapshot(), _processingTimes.Snapshot(), _allocationTimes.Snapshot()));
    }

    /// <summary>Gets how each current node has been used, as of <paramref name="now"/>.</summary>
    internal NodeStatistics[] GetNodeStatistics(DateTimeOffset now)
    {
        var nodes = _nodes;
        var statistics = new NodeStatistics[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            var node = nodes[i];
            statistics[i] = new NodeStatistics(node.Snapshot, node.AttemptsStarted, TimeSpan.FromTicks(node.BusyTicks), now - node.AddedAt, node.Breaker?.Quarantines ?? 0);
        }

        return statistics;
    }

    private NodeRuntime CreateNode(string name, int index, NodeOptions options)
    {
        var node = new NodeRuntime(name, index, options) { AddedAt = TimeProvider.GetUtcNow() };
        if (_options.NodeCircuitBreaker is { } breaker)
        {
            node.Breaker = new NodeCircuitBreaker(breaker, node, TimeProvider, _onBreakerChanged);
        }

        return node;
    }

    /// <summary>Called by a node's circuit breaker after it changed the node's health.</summary>
    private void OnBreakerChanged(NodeRuntime node, NodeHealth health)
    {
        Log.NodeHealthChangedByBreaker(_logger, node.Name, health);
        if (health == NodeHealth.Quarantined)
        {
            CountQuarantine(node);
        }

        Post(SchedulerEvent.NodesChanged());
    }

    private void StartWorkers(NodeRuntime node)
    {
        // Workers must not inherit the caller's execution context (ambient activities, async-locals).
        using (ExecutionContext.SuppressFlow())
        {
            var workers = new Task[node.Snapshot.MaxConcurrency];
            var slots = new WorkerSlot[workers.Length];
            for (var i = 0; i < workers.Length; i++)
            {
                var slot = slots[i] = new WorkerSlot();
                workers[i] = Task.Run(() => RunWorkerAsync(node, slot));
            }

            node.Slots = slots;
            node.Workers = workers;
        }
    }

    private NodeRuntime? FindNode(string name)
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

    private NodeRuntime GetNode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return FindNode(name) ?? throw new ArgumentException($"Dispatcher '{Name}' has no node named '{name}'.", nameof(name));
    }

    private void ThrowIfStopped()
    {
        if (Volatile.Read(ref _stopState) != Running)
        {
            throw new InvalidOperationException($"Dispatcher '{Name}' is stopping or stopped; its nodes cannot change.");
        }
    }
}
