namespace TaskDispatch;

/// <summary>Creates the built-in recovery policies.</summary>
public static class RecoveryPolicy
{
    /// <summary>Creates the policy a dispatcher uses unless told otherwise: a node fault moves the task to another node
    /// at once (up to <see cref="DefaultMaxFailovers"/> times); any other failure is retried at once up to the task's
    /// <see cref="TaskOptions.MaxRetryAttempts"/>, and not at all when it sets none.</summary>
    /// <returns>The policy.</returns>
    public static IRecoveryPolicy Default() =>
        new RetryRecoveryPolicy(new RetryRecoveryOptions { MaxRetryAttempts = 0, Delay = TimeSpan.Zero }).WithFailover();

    /// <summary>Creates a retry policy with backoff, jitter and a cap on the delay.</summary>
    /// <param name="configure">Changes the settings (by default 3 retries, 2 s apart); a task's own
    /// <see cref="TaskOptions.MaxRetryAttempts"/> takes the place of <see cref="RetryRecoveryOptions.MaxRetryAttempts"/>.</param>
    /// <returns>The policy.</returns>
    public static IRecoveryPolicy Retry(Action<RetryRecoveryOptions>? configure = null)
    {
        var options = new RetryRecoveryOptions();
        configure?.Invoke(options);
        return new RetryRecoveryPolicy(options);
    }

    /// <summary>Wraps a policy so that node faults move the task to another node at once, up to <paramref name="maxFailovers"/>
    /// times per task; everything else is decided by <paramref name="inner"/>. When <paramref name="inner"/> already fails
    /// over (as <see cref="Default"/> does), its limit is replaced rather than wrapped, so the limit given here holds.</summary>
    /// <param name="inner">The policy for task faults.</param>
    /// <param name="maxFailovers">How many node faults of one task are failed over at once.</param>
    /// <returns>The composed policy.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="inner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="maxFailovers"/> is negative.</exception>
    public static IRecoveryPolicy WithFailover(this IRecoveryPolicy inner, int maxFailovers = DefaultMaxFailovers) =>
        new FailoverRecoveryPolicy(inner is FailoverRecoveryPolicy failover ? failover.Inner : inner, maxFailovers);

    /// <summary>The default number of node faults per task that <see cref="WithFailover"/> moves to another node: 3.</summary>
    public const int DefaultMaxFailovers = 3;
}
