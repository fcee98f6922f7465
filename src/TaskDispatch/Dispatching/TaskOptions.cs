namespace TaskDispatch;

/// <summary>How one task is to be scheduled, placed and run. Every property is optional.</summary>
/// <remarks>Instances are immutable once built and may be shared by many submissions.</remarks>
public sealed class TaskOptions
{
    private ResourceAmount[]? _positiveDemand;
    private string[]? _requiredTags;

    /// <summary>The options every submission without options gets.</summary>
    public static TaskOptions Default { get; } = new();

    /// <summary>Gets the caller's id for the task: an idempotency key.</summary>
    /// <value>
    /// The default value is <see langword="null"/>: the dispatcher generates an id that starts with
    /// <see cref="TaskDispatcherDefaults.GeneratedIdPrefix"/>. Submitting while a task with the same id is live, or
    /// ended within <see cref="TaskDispatcherOptions.OutcomeRetention"/>, returns that task's handle instead of running
    /// the work twice; <see cref="DeadLetterList.ResubmitAsync"/> runs a failed one again.
    /// </value>
    public string? Id { get; init; }

    /// <summary>Gets the task's priority. Higher values are more urgent, for scheduling policies that use it.</summary>
    /// <value>The default value is 0.</value>
    public int Priority { get; init; }

    /// <summary>Gets the caller's estimate of how long the task runs, for policies such as shortest-job-first.</summary>
    /// <value>The default value is <see langword="null"/> (unknown). Must not be negative.</value>
    public TimeSpan? EstimatedDuration { get; init; }

    /// <summary>Gets the kind of work, for policies that learn per kind (shortest-job-first learns durations).</summary>
    /// <value>The default value is <see langword="null"/>: the kind is the handler type for handler tasks and the
    /// delegate's method for delegate tasks, so every submission from one lambda is one kind.</value>
    public string? Kind { get; init; }

    /// <summary>Gets the time by which the task should have started, for earliest-deadline-first scheduling.</summary>
    /// <value>The default value is <see langword="null"/> (no deadline). A task still waiting when it passes runs anyway,
    /// or fails with <see cref="DeadlineExceededException"/> when <see cref="TaskDispatcherOptions.FailExpiredDeadlines"/> is set.</value>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Gets the key the task is accounted under for fair sharing (a tenant, a queue).</summary>
    /// <value>The default value is <see langword="null"/>: all such tasks share one key.</value>
    public string? FairnessKey { get; init; }

    /// <summary>Gets the resources the task occupies on its node while it runs, by name (for example <c>cpu</c>, <c>memory</c>).</summary>
    /// <value>The default value is <see langword="null"/> (no demand). Each amount must be finite and not negative, and some node must have the capacity.</value>
    public IReadOnlyDictionary<string, double>? ResourceDemand { get; init; }

    /// <summary>Gets the tags a node must carry to run the task.</summary>
    /// <value>The default value is <see langword="null"/> (any node). Some node must carry all of them.</value>
    public IReadOnlyCollection<string>? RequiredTags { get; init; }

    /// <summary>Gets the tags the task would rather run near: among the nodes that can take it, those carrying the most
    /// of these are offered to the allocation strategy; the others only when none of them can.</summary>
    /// <value>The default value is <see langword="null"/> (no preference).</value>
    public IReadOnlyCollection<string>? PreferredTags { get; init; }

    /// <summary>Gets the name of the only node allowed to run the task.</summary>
    /// <value>The default value is <see langword="null"/> (any node). The node must exist.</value>
    public string? RequiredNode { get; init; }

    /// <summary>Gets the limit on one attempt's run time; an attempt that exceeds it is cancelled and fails with <see cref="TimeoutException"/>.</summary>
    /// <value>The default value is <see langword="null"/> (no limit). Must be positive or <see cref="Timeout.InfiniteTimeSpan"/>.</value>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Gets the limit on the task's whole life, from submission to its end, waits and retries included. When it
    /// passes, a waiting task fails at once with a <see cref="TimeoutException"/>; a running attempt has its token
    /// cancelled, and unless it still completes, the task fails with a <see cref="TimeoutException"/> and is not retried.
    /// As with <see cref="Timeout"/>, cancellation is cooperative: work that ignores its token and succeeds completes the task.</summary>
    /// <value>The default value is <see langword="null"/> (no limit). Must be positive or <see cref="Timeout.InfiniteTimeSpan"/>.</value>
    public TimeSpan? OverallTimeout { get; init; }

    /// <summary>Gets how long a running attempt may go without a sign of life (<see cref="TaskContext.Heartbeat"/>,
    /// <see cref="TaskContext.ReportProgress"/> or a saved checkpoint) before the dispatcher decides its node hung: the
    /// attempt is given up (its token cancelled, its outcome ignored) and the task is recovered on another node as after a
    /// <see cref="NodeFailureException"/>.</summary>
    /// <value>The default value is <see langword="null"/> (no heartbeats expected). Must be positive.</value>
    public TimeSpan? HeartbeatTimeout { get; init; }

    /// <summary>Gets how many times the task may be retried after failed attempts, for this task instead of the recovery
    /// policy's own setting (<see cref="RetryRecoveryOptions.MaxRetryAttempts"/>): the one attempt limit, which the
    /// built-in recovery policies honour and a custom one may read from <see cref="RecoveryContext.Task"/>.</summary>
    /// <value>The default value is <see langword="null"/>: the recovery policy's setting applies (the default policy
    /// retries nothing, and moves a task to another node after up to three node faults). Must not be negative.</value>
    public int? MaxRetryAttempts { get; init; }

    /// <summary>Gets the earliest time the task may start; until then it waits on the dispatcher's clock without holding a slot.</summary>
    /// <value>The default value is <see langword="null"/> (at once). Cannot be combined with <see cref="Delay"/>.</value>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Gets how long after submission the task may start; until then it waits on the dispatcher's clock without holding a slot.</summary>
    /// <value>The default value is <see langword="null"/> (at once). Must not be negative; cannot be combined with <see cref="NotBefore"/>.</value>
    public TimeSpan? Delay { get; init; }

    /// <summary>Gets the positive entries of <see cref="ResourceDemand"/> as an array, worked out once per options
    /// instance, so that placement loops enumerate without boxing an interface enumerator per node.</summary>
    internal ResourceAmount[] PositiveDemand => _positiveDemand ??= ResourceAmount.FromPositive(ResourceDemand);

    /// <summary>Gets the positive entries of <see cref="ResourceDemand"/> with their resources' ids, worked out once per
    /// options instance: what an allocation strategy compares with <see cref="NodeSnapshot.CapacityOf(in ResourceAmount)"/>
    /// and <see cref="NodeSnapshot.InUseOf(in ResourceAmount)"/> without hashing names.</summary>
    public ReadOnlySpan<ResourceAmount> DemandedResources => PositiveDemand;

    /// <summary>Gets <see cref="RequiredTags"/> as an array, worked out once per options instance.</summary>
    internal string[] RequiredTagArray => _requiredTags ??= RequiredTags is null ? [] : [.. RequiredTags];

    /// <summary>Gets a token that cancels the task: while it waits it ends <see cref="TaskState.Cancelled"/>; while it runs its context's token is cancelled.</summary>
    /// <value>The default value is <see cref="CancellationToken.None"/>.</value>
    public CancellationToken CancellationToken { get; init; }
}
