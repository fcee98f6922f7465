namespace TaskDispatch;

/// <summary>The outcome of a recovery decision: give up, or retry after a delay.</summary>
public readonly struct RecoveryDecision : IEquatable<RecoveryDecision>
{
    private RecoveryDecision(bool retry, TimeSpan delay)
    {
        ShouldRetry = retry;
        Delay = delay;
    }

    /// <summary>Gets the decision to stop: the task ends <see cref="TaskState.Failed"/> with the attempt's exception.</summary>
    public static RecoveryDecision GiveUp => default;

    /// <summary>Gets whether the task gets another attempt.</summary>
    public bool ShouldRetry { get; }

    /// <summary>Gets how long the task waits before it is ready again; it holds no node slot meanwhile.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Creates a decision to retry.</summary>
    /// <param name="delay">How long to wait first; <see cref="TimeSpan.Zero"/> for at once.</param>
    /// <returns>The decision.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="delay"/> is negative.</exception>
    public static RecoveryDecision Retry(TimeSpan delay = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new RecoveryDecision(true, delay);
    }

    /// <inheritdoc />
    public bool Equals(RecoveryDecision other) => ShouldRetry == other.ShouldRetry && Delay == other.Delay;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RecoveryDecision other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ShouldRetry, Delay);

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
    public override string ToString() => ShouldRetry ? $"Retry after {Delay}" : "GiveUp";
}
