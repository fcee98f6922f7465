namespace TaskDispatch;

/// <summary>Retries a failed attempt at once while the task has attempts left, as set by <see cref="TaskOptions.MaxAttempts"/>.</summary>
/// <remarks>
/// This is the default policy. A task without <see cref="TaskOptions.MaxAttempts"/> gets <see cref="DefaultMaxAttempts"/>
/// attempts, which is 1 for the instance the dispatcher uses by default: no retry unless the task asks for it.
/// </remarks>
public sealed class AttemptLimitRecoveryPolicy : IRecoveryPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <param name="defaultMaxAttempts">The attempts a task gets when it does not set <see cref="TaskOptions.MaxAttempts"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="defaultMaxAttempts"/> is less than 1.</exception>
    public AttemptLimitRecoveryPolicy(int defaultMaxAttempts = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultMaxAttempts, 1);
        DefaultMaxAttempts = defaultMaxAttempts;
    }

    /// <summary>Gets the attempts a task gets when it does not set <see cref="TaskOptions.MaxAttempts"/>.</summary>
    public int DefaultMaxAttempts { get; }

    /// <inheritdoc />
    public RecoveryDecision Decide(in RecoveryContext context)
    {
        var limit = context.Task.Options.MaxAttempts ?? DefaultMaxAttempts;
        return context.Attempt < limit ? RecoveryDecision.Retry() : RecoveryDecision.GiveUp;
    }
}
