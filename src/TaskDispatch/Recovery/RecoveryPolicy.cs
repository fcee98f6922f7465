namespace TaskDispatch;

/// <summary>Creates the built-in recovery policies.</summary>
public static class RecoveryPolicy
{
    /// <summary>Creates the default policy: retry at once up to the task's <see cref="TaskOptions.MaxAttempts"/>; one attempt when it sets none.</summary>
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
}
