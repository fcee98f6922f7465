namespace TaskDispatch;

/// <summary>One node's circuit breaker: counts attempt outcomes and drives the node's health through
/// <see cref="NodeHealth.Quarantined"/> and <see cref="NodeHealth.Probing"/> back to <see cref="NodeHealth.Healthy"/>.</summary>
/// <remarks>State changes happen under the node's lock, which <c>SetNodeHealth</c> also takes; outcomes come from the
/// node's workers and its break timer. A success on a closed circuit only counts, without the lock; failures, probes and
/// window changes take it. After each health change the dispatcher recounts slots in a scheduler step.</remarks>
internal sealed class NodeCircuitBreaker
{
    private static readonly TimerCallback s_onBreakOver = static state => ((NodeCircuitBreaker)state!).OnBreakOver();

    private readonly NodeCircuitBreakerOptions _options;
    private readonly NodeRuntime _node;
    private readonly TimeProvider _timeProvider;
    private readonly Action<NodeRuntime, NodeHealth> _onHealthChanged;

    private volatile CircuitState _state;
    private int _consecutiveFailures;
    private int _windowAttempts;
    private int _windowFailures;
    private long _windowStart;
    private ITimer? _breakTimer;
    private long _quarantines;

    internal NodeCircuitBreaker(NodeCircuitBreakerOptions options, NodeRuntime node, TimeProvider timeProvider, Action<NodeRuntime, NodeHealth> onHealthChanged)
    {
        _options = options;
        _node = node;
        _timeProvider = timeProvider;
        _onHealthChanged = onHealthChanged;
        _windowStart = timeProvider.GetTimestamp();
    }

    private enum CircuitState
    {
        Closed,
        Open,
        HalfOpen,
    }

    /// <summary>Gets how many times the circuit opened.</summary>
    internal long Quarantines => Interlocked.Read(ref _quarantines);

    /// <summary>Counts an attempt that ended on the node: <paramref name="error"/> is <see langword="null"/> for a success.</summary>
    /// <param name="error">The attempt's failure, or <see langword="null"/>.</param>
    /// <param name="isProbe">Whether the attempt was the probe of a half-open circuit.</param>
    internal void OnAttemptEnded(Exception? error, bool isProbe)
    {
        // As in Polly, a failure the predicate does not handle counts as a success; a predicate that throws counts the
        // failure (the engine must carry on whatever user code does here).
        var failed = error is not null && Handles(error);
        if (!failed && !isProbe && _state == CircuitState.Closed && _timeProvider.GetElapsedTime(Volatile.Read(ref _windowStart)) <= _options.SamplingDuration)
        {
            // The common case, a success on a healthy node, takes no lock: it only counts.
            Interlocked.Increment(ref _windowAttempts);
            if (Volatile.Read(ref _consecutiveFailures) != 0)
            {
                Interlocked.Exchange(ref _consecutiveFailures, 0);
            }

            return;
        }

        NodeHealth? changed = null;
        lock (_node)
        {
            switch (_state)
            {
                case CircuitState.Closed when _node.RequestedHealth is NodeHealth.Healthy or NodeHealth.Degraded:
                    if (Count(failed))
                    {
                        changed = Open();
                    }

                    break;

                case CircuitState.HalfOpen when isProbe:
                    changed = failed ? Open() : Close();
                    break;
            }
        }

        if (changed is { } health)
        {
            _onHealthChanged(_node, health);
        }
    }

    private bool Handles(Exception error)
    {
        try
        {
            return _options.ShouldHandle is not { } shouldHandle || shouldHandle(error);
        }
        catch (Exception)
        {
            return true;
        }
    }

    /// <summary>Forgets everything after someone set the node's health by hand; called under the node's lock.</summary>
    internal void Reset()
    {
        _state = CircuitState.Closed;
        _breakTimer?.Dispose();
        _breakTimer = null;
        StartWindow();
    }

    /// <summary>Counts an outcome in the closed state.</summary>
    /// <returns>Whether the circuit must open.</returns>
    private bool Count(bool failed)
    {
        if (_timeProvider.GetElapsedTime(_windowStart) > _options.SamplingDuration)
        {
            StartWindow();
        }

        Interlocked.Increment(ref _windowAttempts);
        if (!failed)
        {
            Interlocked.Exchange(ref _consecutiveFailures, 0);
            return false;
        }

        _windowFailures++;
        Interlocked.Increment(ref _consecutiveFailures);
        return _consecutiveFailures >= _options.ConsecutiveFailures
            || (_windowAttempts >= _options.MinimumThroughput && _windowFailures >= _options.FailureRatio * _windowAttempts);
    }

    private NodeHealth Open()
    {
        _state = CircuitState.Open;
        Interlocked.Increment(ref _quarantines);
        _node.RequestedHealth = NodeHealth.Quarantined;
        _breakTimer?.Dispose();
        _breakTimer = _timeProvider.CreateTimer(s_onBreakOver, this, _options.BreakDuration, Timeout.InfiniteTimeSpan);
        return NodeHealth.Quarantined;
    }

    private NodeHealth Close()
    {
        _state = CircuitState.Closed;
        _node.RequestedHealth = NodeHealth.Healthy;
        StartWindow();
        return NodeHealth.Healthy;
    }

    private void OnBreakOver()
    {
        lock (_node)
        {
            if (_state != CircuitState.Open || _node.RequestedHealth != NodeHealth.Quarantined)
            {
                return;
            }

            _state = CircuitState.HalfOpen;
            _node.RequestedHealth = NodeHealth.Probing;
            _breakTimer?.Dispose();
            _breakTimer = null;
        }

        _onHealthChanged(_node, NodeHealth.Probing);
    }

    private void StartWindow()
    {
        Volatile.Write(ref _windowStart, _timeProvider.GetTimestamp());
        Interlocked.Exchange(ref _windowAttempts, 0);
        _windowFailures = 0;
        Interlocked.Exchange(ref _consecutiveFailures, 0);
    }
}
