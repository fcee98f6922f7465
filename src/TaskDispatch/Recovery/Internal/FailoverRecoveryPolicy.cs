namespace TaskDispatch;

/// <summary>Moves a task to another node at once when its node fails (<see cref="RecoveryContext.IsNodeFault"/>), up to
/// a number of node faults; every other failure, and node faults beyond that number, go to the inner policy, which
/// counts attempts as if the failed-over ones had not happened.</summary>
/// <remarks>
/// The dispatcher keeps a node that failed a task away from that task's later attempts, as long as some other node
/// could run it. Wrap any policy: <c>RecoveryPolicy.Retry(...).WithFailover()</c> retries task faults with backoff and
/// fails node faults over at once. The default policy of a dispatcher is <c>RecoveryPolicy.AttemptLimit().WithFailover()</c>.
/// </remarks>
internal sealed class FailoverRecoveryPolicy : IRecoveryPolicy
{
    /// <summary>The node faults a task survives by default before the inner policy decides.</summary>
    public const int DefaultMaxFailovers = RecoveryPolicy.DefaultMaxFailovers;

    private readonly IRecoveryPolicy _inner;

    /// <summary>Creates the policy.</summary>
    /// <param name="inner">Decides about task faults, and about node faults beyond <paramref name="maxFailovers"/>.</param>
    /// <param name="maxFailovers">How many node faults of one task are failed over at once.</param>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="inner"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="maxFailovers"/> is negative.</exception>
    public FailoverRecoveryPolicy(IRecoveryPolicy inner, int maxFailovers = DefaultMaxFailovers)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFailovers);
        _inner = inner;
        MaxFailovers = maxFailovers;
    }

    /// <summary>Gets how many node faults of one task are failed over at once.</summary>
    public int MaxFailovers { get; }

    /// <summary>Gets the policy that decides everything but the failovers.</summary>
    internal IRecoveryPolicy Inner => _inner;

    /// <inheritdoc />
    /// <remarks>The inner policy sees the attempt numbered without the attempts this policy failed over, so that node
    /// faults spend neither its retry budget nor its backoff: after two failovers, a task fault on attempt 3 is the
    /// inner policy's attempt 1. A failed-over retry runs on another node (<see cref="RecoveryDecision.RetryElsewhere"/>).</remarks>
    public RecoveryDecision Decide(in RecoveryContext context)
    {
        // The task's own limit, when it sets one, bounds every retry, failovers included.
        if (context.Task.Options.MaxRetryAttempts is { } limit && context.Attempt > limit)
        {
            return RecoveryDecision.GiveUp;
        }

        if (context.IsNodeFault && context.NodeFaults <= MaxFailovers)
        {
            return RecoveryDecision.RetryElsewhere();
        }

        var failedOver = Math.Min(context.IsNodeFault ? context.NodeFaults - 1 : context.NodeFaults, MaxFailovers);
        if (failedOver <= 0)
        {
            return _inner.Decide(context);
        }

        var own = new RecoveryContext(
            context.Task,
            Math.Max(1, context.Attempt - failedOver),
            context.Exception,
            context.NodeName,
            context.FailedAt,
            context.IsNodeFault,
            context.NodeFaults);
        return _inner.Decide(own);
    }
}
