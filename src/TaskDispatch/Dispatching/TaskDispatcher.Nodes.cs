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
        ThrowIfStopping();
        var node = _nodes.Add(name, options, _runner.StartWorkers);
        Scheduler.PostNodesChanged();
        return node.State.ToSnapshot();
    }

    /// <inheritdoc />
    public void SetNodeHealth(string name, NodeHealth health)
    {
        if (!Enum.IsDefined(health))
        {
            throw new ArgumentOutOfRangeException(nameof(health), health, $"{nameof(health)} is not a defined {nameof(NodeHealth)}.");
        }

        var node = _nodes.Get(name);
        lock (node)
        {
            if (health == NodeHealth.Draining && node.RequestedHealth != NodeHealth.Draining)
            {
                node.RearmDrainSignal();
            }

            node.RequestedHealth = health;
            node.Breaker?.Reset();
        }

        Scheduler.PostNodesChanged();
        Scheduler.WaitUntilApplied(node, health);
        if (health == NodeHealth.Unavailable)
        {
            // See AttemptRunner.RunAttemptAsync: the health is visible before the slots are read.
            Interlocked.MemoryBarrier();
            AbandonRunningAttempts(node, $"Node '{name}' was marked unavailable.");
        }
    }

    /// <inheritdoc />
    public Task DrainNodeAsync(string name, CancellationToken cancellationToken = default)
    {
        var node = _nodes.Get(name);
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

        Scheduler.PostNodesChanged();
        Scheduler.WaitUntilApplied(node, NodeHealth.Draining);
        return drained.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task RemoveNodeAsync(string name, CancellationToken cancellationToken = default)
    {
        var node = _nodes.Get(name);
        _nodes.ThrowIfLast(node);
        await DrainNodeAsync(name, cancellationToken).ConfigureAwait(false);
        if (_nodes.Remove(node))
        {
            // A step closes its channel, between placements: its workers finish what they were handed and exit; waiting
            // tasks that only it could run are failed by that step.
            Scheduler.PostNodeRemoved(node);
        }
    }

    /// <summary>Gives up every attempt running on a failed node, as node faults: their tasks move to other nodes.</summary>
    private void AbandonRunningAttempts(NodeRuntime node, string reason)
    {
        foreach (var slot in node.Slots)
        {
            if (slot.Current is { } context)
            {
                _recovery.AbandonAttempt(context, new NodeFailureException($"{reason} Task '{context.TaskId}' attempt {context.Attempt} was moved off it.") { NodeName = node.Name });
            }
        }
    }

    private void ThrowIfStopping()
    {
        if (_lifecycle.IsStopping)
        {
            throw new InvalidOperationException($"Dispatcher '{Name}' is stopping or stopped; its nodes cannot change.");
        }
    }
}
