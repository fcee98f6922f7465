namespace TaskDispatch;

/// <summary>Settings of the per-node circuit breaker, which quarantines a node whose attempts keep failing and lets it
/// back in after a probe succeeds. The names follow Polly's circuit breaker where the concept is the same.</summary>
/// <remarks>
/// Closed (the node is <see cref="NodeHealth.Healthy"/>): attempt outcomes are counted. The circuit opens when
/// <see cref="ConsecutiveFailures"/> attempts in a row fail, or when at least <see cref="MinimumThroughput"/> attempts
/// ended within <see cref="SamplingDuration"/> and <see cref="FailureRatio"/> or more of them failed. Open (the node is
/// <see cref="NodeHealth.Quarantined"/>): no new work for <see cref="BreakDuration"/>. Half-open (the node is
/// <see cref="NodeHealth.Probing"/>): one probe attempt at a time; its success closes the circuit, its failure opens it
/// again. Setting a node's health by hand overrides the breaker and resets it.
/// </remarks>
public sealed class NodeCircuitBreakerOptions
{
    /// <summary>Gets or sets the share of failed attempts within <see cref="SamplingDuration"/> that opens the circuit.</summary>
    /// <value>The default value is 0.5. Must be greater than 0 and at most 1.</value>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Gets or sets how many attempts must have ended within <see cref="SamplingDuration"/> before
    /// <see cref="FailureRatio"/> is applied.</summary>
    /// <value>The default value is 10. Must be at least 1.</value>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>Gets or sets the window over which the failure ratio is measured; counting starts afresh when it passes.</summary>
    /// <value>The default value is 30 seconds. Must be positive.</value>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many failed attempts in a row open the circuit, whatever the ratio.</summary>
    /// <value>The default value is 5. <see langword="null"/> to rely on the ratio alone; otherwise at least 1.</value>
    public int? ConsecutiveFailures { get; set; } = 5;

    /// <summary>Gets or sets how long an open circuit keeps the node quarantined before it lets a probe through.</summary>
    /// <value>The default value is 30 seconds. Must be positive.</value>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets which failures count against the node.</summary>
    /// <value>The default value is <see langword="null"/>: every failed attempt counts, except those ended by their task's
    /// cancellation or overall timeout.</value>
    public Func<Exception, bool>? ShouldHandle { get; set; }

    internal NodeCircuitBreakerOptions Clone() => (NodeCircuitBreakerOptions)MemberwiseClone();

    internal void Validate()
    {
        if (!(FailureRatio > 0 && FailureRatio <= 1))
        {
            throw new ArgumentOutOfRangeException($"{nameof(TaskDispatcherOptions.NodeCircuitBreaker)}.{nameof(FailureRatio)}", FailureRatio, $"{nameof(FailureRatio)} must be greater than 0 and at most 1, was {FailureRatio}.");
        }

        if (MinimumThroughput < 1)
        {
            throw new ArgumentOutOfRangeException($"{nameof(TaskDispatcherOptions.NodeCircuitBreaker)}.{nameof(MinimumThroughput)}", MinimumThroughput, $"{nameof(MinimumThroughput)} must be at least 1, was {MinimumThroughput}.");
        }

        if (SamplingDuration <= TimeSpan.Zero || SamplingDuration > TaskDispatcherDefaults.MaxDelay)
        {
            throw new ArgumentOutOfRangeException($"{nameof(TaskDispatcherOptions.NodeCircuitBreaker)}.{nameof(SamplingDuration)}", SamplingDuration, $"{nameof(SamplingDuration)} must be positive and at most {TaskDispatcherDefaults.MaxDelay}, was {SamplingDuration}.");
        }

        if (ConsecutiveFailures is { } consecutive && consecutive < 1)
        {
            throw new ArgumentOutOfRangeException($"{nameof(TaskDispatcherOptions.NodeCircuitBreaker)}.{nameof(ConsecutiveFailures)}", consecutive, $"{nameof(ConsecutiveFailures)} must be at least 1 or null, was {consecutive}.");
        }

        if (BreakDuration <= TimeSpan.Zero || BreakDuration > TaskDispatcherDefaults.MaxDelay)
        {
            throw new ArgumentOutOfRangeException($"{nameof(TaskDispatcherOptions.NodeCircuitBreaker)}.{nameof(BreakDuration)}", BreakDuration, $"{nameof(BreakDuration)} must be positive and at most {TaskDispatcherDefaults.MaxDelay}, was {BreakDuration}.");
        }
    }
}
