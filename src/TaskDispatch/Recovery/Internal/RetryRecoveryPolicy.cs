namespace TaskDispatch;

/// <summary>Retries a failed task after a delay that can grow (constant, linear or exponential backoff), with optional
/// jitter and a cap, up to <see cref="RetryRecoveryOptions.MaxRetryAttempts"/>; failures that
/// <see cref="RetryRecoveryOptions.ShouldRetry"/> rejects end the task at once.</summary>
/// <remarks>A waiting retry holds no node slot. The policy is thread-safe: only the jitter generator is shared, under a lock.</remarks>
internal sealed class RetryRecoveryPolicy : IRecoveryPolicy
{
    private readonly int _maxRetryAttempts;
    private readonly TimeSpan _delay;
    private readonly TimeSpan? _maxDelay;
    private readonly DelayBackoffType _backoffType;
    private readonly Func<Exception, bool>? _shouldRetry;
    private readonly Random? _jitter;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The settings; <see langword="null"/> for the defaults (3 retries, 2 s apart).</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when a setting is out of range.</exception>
    public RetryRecoveryPolicy(RetryRecoveryOptions? options = null)
    {
        options ??= new RetryRecoveryOptions();
        options.Validate();
        _maxRetryAttempts = options.MaxRetryAttempts;
        _delay = options.Delay;
        _maxDelay = options.MaxDelay;
        _backoffType = options.BackoffType;
        _shouldRetry = options.ShouldRetry;
        _jitter = options.UseJitter ? options.Random ?? new Random() : null;
    }

    /// <inheritdoc />
    public RecoveryDecision Decide(in RecoveryContext context)
    {
        if (context.Attempt > (context.Task.Options.MaxRetryAttempts ?? _maxRetryAttempts) || (_shouldRetry is { } shouldRetry && !shouldRetry(context.Exception)))
        {
            return RecoveryDecision.GiveUp;
        }

        return RecoveryDecision.Retry(GetDelay(context.Attempt));
    }

    /// <summary>Gets the delay before the retry that follows failed attempt number <paramref name="attempt"/>.</summary>
    /// <param name="attempt">The number of the attempt that failed, from 1.</param>
    /// <returns>The delay, after backoff, jitter and the cap.</returns>
    public TimeSpan GetDelay(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var ticks = _backoffType switch
        {
            DelayBackoffType.Linear => _delay.Ticks * (double)attempt,
            DelayBackoffType.Exponential => _delay.Ticks * Math.Pow(2, attempt - 1),
            _ => _delay.Ticks,
        };

        if (_jitter is not null)
        {
            double spread;
            lock (_jitter)
            {
                spread = _jitter.NextDouble();
            }

            ticks *= 0.75 + (spread * 0.5);
        }

        ticks = Math.Min(ticks, _maxDelay?.Ticks ?? TaskDispatcherDefaults.MaxDelay.Ticks);
        return TimeSpan.FromTicks((long)Math.Min(ticks, TaskDispatcherDefaults.MaxDelay.Ticks));
    }
}
