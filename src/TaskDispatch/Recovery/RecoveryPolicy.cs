namespace TaskDispatch;

/// <summary>Creates the built-in recovery policies.</summary>
public static class RecoveryPolicy
{
    /// <summary>Creates the policy a dispatcher uses unless told otherwise: a node fault moves the task to another node
    /// at once (up to <see cref="FailoverRecoveryPolicy.DefaultMaxFailovers"/> times); any other failure is retried at once
    /// up to the task's <see cref="TaskOptions.MaxAttempts"/>, one attempt when it sets none.</summary>
    /// <returns>The policy.</returns>
    public static IRecoveryPolicy Default() => AttemptLimit().WithFailover();

    /// <summary>Creates a policy that retries at once up to the task's <see cref="TaskOptions.MaxAttempts"/>; one attempt when it sets none.</summary>
    /// <returns>The policy.</returns>
    public static IRecoveryPolicy AttemptLimit() => new AttemptLimitRecoveryPolicy();

    /// <summary>Creates a policy that retries at once up to <paramref name="maxAttempts"/> attempts, unless the task sets its own limit.</summary>
    /// <param name="maxAttempts">The attempts a task gets, the first included.</param>
    /// <returns>The policy.</returns>
    public static IRecoveryPolicy AttemptLimit(int maxAttempts) => new AttemptLimitRecoveryPolicy(maxAttempts);

    /// <summary>Creates a retry policy with backoff, jitter and a cap on the delay.</summary>
    /// <param name="configure">Changes the settings (by default 3 retries, 2 s apart).</param>
    /// <returns>The policy.</returns>
    public static IRecoveryPolicy Retry(Action<RetryRecoveryOptions>? configure = null)
    {
        var options = new RetryRecoveryOptions();
        configure?.Invoke(options);
        return new RetryRecoveryPolicy(options);
    }

    /// <summary>Wraps a policy so that node faults move the task to another node at once, up to <paramref name="maxFailovers"/>
    /// times per task; everything else is decided by <paramref name="inner"/>.</summary>
    /// <param name="inner">The policy for task faults.</param>
    /// <param name="maxFailovers">How many node faults of one task are failed over at once.</param>
    /// <returns>The composed policy.</returns>
    public static IRecoveryPolicy WithFailover(this IRecoveryPolicy inner, int maxFailovers = FailoverRecoveryPolicy.DefaultMaxFailovers) =>
        new FailoverRecoveryPolicy(inner, maxFailovers);
}
