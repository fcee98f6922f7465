namespace TaskDispatch;

/// <summary>The outcome of a recovery decision: give up (the task fails and goes to the dead letters), or retry after a
/// delay, anywhere, on the same node or on another node.</summary>
public readonly struct RecoveryDecision : IEquatable<RecoveryDecision>
{
    private RecoveryDecision(bool retry, TimeSpan delay, RetryPlacement placement)
    {
        ShouldRetry = retry;
        Delay = delay;
        Placement = placement;
    }

    /// <summary>Gets the decision to stop: the task ends <see cref="TaskState.Failed"/> with the attempt's exception and
    /// is kept in the dispatcher's <see cref="ITaskDispatcher.DeadLetters"/>, from where it can be resubmitted.</summary>
    public static RecoveryDecision GiveUp => default;

    /// <summary>Gets whether the task gets another attempt.</summary>
    public bool ShouldRetry { get; }

    /// <summary>Gets how long the task waits before it is ready again; it holds no node slot meanwhile.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Gets where the retry may run.</summary>
    public RetryPlacement Placement { get; }

    /// <summary>Creates a decision to retry on any node.</summary>
    /// <param name="delay">How long to wait first; <see cref="TimeSpan.Zero"/> for at once.</param>
    /// <returns>The decision.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="delay"/> is negative.</exception>
    public static RecoveryDecision Retry(TimeSpan delay = default) => Create(delay, RetryPlacement.Anywhere);

    /// <summary>Creates a decision to retry on the node the failed attempt ran on (useful when it holds local state).</summary>
    /// <param name="delay">How long to wait first; <see cref="TimeSpan.Zero"/> for at once.</param>
    /// <returns>The decision.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="delay"/> is negative.</exception>
    public static RecoveryDecision RetrySameNode(TimeSpan delay = default) => Create(delay, RetryPlacement.SameNode);

    /// <summary>Creates a decision to retry on another node than the one the failed attempt ran on (failover).</summary>
    /// <param name="delay">How long to wait first; <see cref="TimeSpan.Zero"/> for at once.</param>
    /// <returns>The decision.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="delay"/> is negative.</exception>
    public static RecoveryDecision RetryElsewhere(TimeSpan delay = default) => Create(delay, RetryPlacement.OtherNode);

    /// <inheritdoc />
    public bool Equals(RecoveryDecision other) => ShouldRetry == other.ShouldRetry && Delay == other.Delay && Placement == other.Placement;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RecoveryDecision other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ShouldRetry, Delay, Placement);

    /// <summary>Compares two decisions.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(RecoveryDecision left, RecoveryDecision right) => left.Equals(right);

    /// <summary>Compares two decisions.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(RecoveryDecision left, RecoveryDecision right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => !ShouldRetry
        ? "GiveUp"
        : Placement switch
        {
            RetryPlacement.SameNode => $"Retry on the same node after {Delay}",
            RetryPlacement.OtherNode => $"Retry on another node after {Delay}",
            _ => $"Retry after {Delay}",
        };

    private static RecoveryDecision Create(TimeSpan delay, RetryPlacement placement)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new RecoveryDecision(true, delay, placement);
    }
}
