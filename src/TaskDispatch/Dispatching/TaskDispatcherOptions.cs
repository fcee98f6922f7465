namespace TaskDispatch;

/// <summary>Settings of one dispatcher, validated when it is built.</summary>
public sealed class TaskDispatcherOptions
{
    /// <summary>Gets or sets the bound on tasks that are accepted but not yet running, wherever they wait
    /// (delayed, queued or being assigned). Submissions made from inside a running task are exempt, so a task
    /// can always submit follow-up work without deadlocking.</summary>
    /// <value>The default value is <see cref="TaskDispatcherDefaults.MaxPendingTasks"/>. Must be at least 1.</value>
    public int MaxPendingTasks { get; set; } = TaskDispatcherDefaults.MaxPendingTasks;

    /// <summary>Gets or sets what <c>SubmitAsync</c> does when <see cref="MaxPendingTasks"/> is reached.</summary>
    /// <value>The default value is <see cref="QueueFullMode.Wait"/>.</value>
    public QueueFullMode FullMode { get; set; } = QueueFullMode.Wait;

    /// <summary>Gets or sets how <c>DisposeAsync</c> stops the dispatcher.</summary>
    /// <value>The default value is <see cref="ShutdownMode.Drain"/>.</value>
    public ShutdownMode ShutdownMode { get; set; } = ShutdownMode.Drain;

    /// <summary>Gets or sets how long <c>DisposeAsync</c> waits for work before it forces every live task to <see cref="TaskState.Cancelled"/>.</summary>
    /// <value>The default value is <see cref="TaskDispatcherDefaults.ShutdownTimeout"/>. Must not be negative nor longer than about 49.7 days (4,294,967,294 ms); <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TaskDispatcherDefaults.ShutdownTimeout;

    /// <summary>Gets or sets whether a task whose <see cref="TaskOptions.Deadline"/> passed while it waited fails with
    /// <see cref="DeadlineExceededException"/> instead of starting late.</summary>
    /// <value>The default value is <see langword="false"/>: late tasks still run.</value>
    public bool FailExpiredDeadlines { get; set; }

    /// <summary>Gets or sets how many failed tasks <see cref="TaskDispatcher.DeadLetters"/> keeps for inspection and
    /// resubmission; the oldest make room for new ones.</summary>
    /// <value>The default value is <see cref="TaskDispatcherDefaults.DeadLetterCapacity"/>. Must not be negative; 0 keeps none (they are still counted).</value>
    public int DeadLetterCapacity { get; set; } = TaskDispatcherDefaults.DeadLetterCapacity;

    /// <summary>Gets or sets how long an ended task stays findable by its id (<c>TryGetHandle</c>), with its state,
    /// result or error, attempts and times; within it, submitting a task with the same caller-given id returns the ended
    /// task instead of running it again.</summary>
    /// <value>The default value is <see cref="TaskDispatcherDefaults.OutcomeRetention"/>. Must not be negative;
    /// <see cref="TimeSpan.Zero"/> forgets a task as soon as it ends.</value>
    public TimeSpan OutcomeRetention { get; set; } = TaskDispatcherDefaults.OutcomeRetention;

    /// <summary>Gets or sets how many ended tasks stay findable by id at most; the oldest make room for new ones before
    /// their <see cref="OutcomeRetention"/> runs out.</summary>
    /// <value>The default value is <see cref="TaskDispatcherDefaults.MaxRetainedOutcomes"/>. Must not be negative; 0
    /// keeps none. Each kept task holds its handle and result in memory.</value>
    public int MaxRetainedOutcomes { get; set; } = TaskDispatcherDefaults.MaxRetainedOutcomes;

    /// <summary>Gets or sets whether the dispatcher records the distributions of waiting, response, processing and
    /// allocation time that <c>GetStatistics()</c> reports with percentiles. The live <c>TaskDispatch</c> meter's
    /// instruments cost nothing until a listener enables them, whatever this says.</summary>
    /// <value>The default value is <see langword="true"/>. Recording takes a few atomic increments per task on per-processor cache lines.</value>
    public bool MeasureTimings { get; set; } = true;

    /// <summary>Gets or sets the per-node circuit breaker, which quarantines a node whose attempts keep failing and lets
    /// it back after a successful probe; allocation strategies never see a quarantined node.</summary>
    /// <value>The default value is <see langword="null"/>: no breaker, node health changes only when set.</value>
    public NodeCircuitBreakerOptions? NodeCircuitBreaker { get; set; }

    internal TaskDispatcherOptions Clone()
    {
        var clone = (TaskDispatcherOptions)MemberwiseClone();
        clone.NodeCircuitBreaker = NodeCircuitBreaker?.Clone();
        return clone;
    }

    internal void Validate()
    {
        if (MaxPendingTasks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPendingTasks), MaxPendingTasks, $"{nameof(MaxPendingTasks)} must be at least 1, was {MaxPendingTasks}.");
        }

        if (!Enum.IsDefined(FullMode))
        {
            throw new ArgumentOutOfRangeException(nameof(FullMode), FullMode, $"{nameof(FullMode)} is not a defined {nameof(QueueFullMode)}.");
        }

        if (!Enum.IsDefined(ShutdownMode))
        {
            throw new ArgumentOutOfRangeException(nameof(ShutdownMode), ShutdownMode, $"{nameof(ShutdownMode)} is not a defined {nameof(TaskDispatch.ShutdownMode)}.");
        }

        NodeCircuitBreaker?.Validate();

        if (OutcomeRetention < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(OutcomeRetention), OutcomeRetention, $"{nameof(OutcomeRetention)} must not be negative, was {OutcomeRetention}.");
        }

        if (MaxRetainedOutcomes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetainedOutcomes), MaxRetainedOutcomes, $"{nameof(MaxRetainedOutcomes)} must not be negative, was {MaxRetainedOutcomes}.");
        }

        if (DeadLetterCapacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(DeadLetterCapacity), DeadLetterCapacity, $"{nameof(DeadLetterCapacity)} must not be negative, was {DeadLetterCapacity}.");
        }

        StopTimeouts.Validate(ShutdownTimeout, nameof(ShutdownTimeout));
    }
}
