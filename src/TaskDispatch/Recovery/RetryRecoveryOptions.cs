namespace TaskDispatch;

/// <summary>Settings of <see cref="RetryRecoveryPolicy"/>; the names follow Polly's retry strategy where the concept is the same.</summary>
public sealed class RetryRecoveryOptions
{
    /// <summary>Gets or sets how many times a failed task is retried; the first attempt is not a retry.</summary>
    /// <value>The default value is 3. Must not be negative. A task's own <see cref="TaskOptions.MaxRetryAttempts"/> takes
    /// its place for that task.</value>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Gets or sets the base delay before a retry, shaped by <see cref="BackoffType"/>.</summary>
    /// <value>The default value is 2 seconds. Must not be negative.</value>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets the longest delay before a retry, after backoff and jitter.</summary>
    /// <value>The default value is <see langword="null"/> (no cap). Must not be negative.</value>
    public TimeSpan? MaxDelay { get; set; }

    /// <summary>Gets or sets how the delay grows with the attempt number.</summary>
    /// <value>The default value is <see cref="DelayBackoffType.Constant"/>.</value>
    public DelayBackoffType BackoffType { get; set; } = DelayBackoffType.Constant;

    /// <summary>Gets or sets whether each delay is spread randomly by up to 25 % either way, so that tasks failing
    /// together do not retry together.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool UseJitter { get; set; }

    /// <summary>Gets or sets which failures are worth retrying; a failure it rejects ends the task at once.</summary>
    /// <value>The default value is <see langword="null"/>: every failure is retried.</value>
    public Func<Exception, bool>? ShouldRetry { get; set; }

    /// <summary>Gets or sets the source of jitter; pass <c>new Random(seed)</c> for reproducible delays.</summary>
    /// <value>The default value is <see langword="null"/>: a new unseeded generator.</value>
    public Random? Random { get; set; }

    internal void Validate()
    {
        if (MaxRetryAttempts < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryAttempts), MaxRetryAttempts, $"{nameof(MaxRetryAttempts)} must not be negative, was {MaxRetryAttempts}.");
        }

        if (Delay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Delay), Delay, $"{nameof(Delay)} must not be negative, was {Delay}.");
        }

        if (MaxDelay is { } maxDelay && maxDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), maxDelay, $"{nameof(MaxDelay)} must not be negative, was {maxDelay}.");
        }

        if (!Enum.IsDefined(BackoffType))
        {
            throw new ArgumentOutOfRangeException(nameof(BackoffType), BackoffType, $"{nameof(BackoffType)} is not a defined {nameof(DelayBackoffType)}.");
        }
    }
}
