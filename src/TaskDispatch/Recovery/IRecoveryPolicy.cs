namespace TaskDispatch;

/// <summary>Decides what happens after an attempt fails: retry (now or after a delay) or give up.</summary>
/// <remarks>
/// A pure decision: the dispatcher carries it out. It may be called from several node workers at once, so an
/// implementation must be thread-safe; the built-ins are stateless. The dispatcher never exceeds
/// <see cref="TaskOptions.MaxAttempts"/>, whatever the policy answers. A cancelled task is never offered for recovery.
/// <para>What a throw costs: an exception from <see cref="Decide"/> is logged and counts as giving up, so only the task
/// concerned fails, with its attempt's exception.</para>
/// </remarks>
public interface IRecoveryPolicy
{
    /// <summary>Decides after a failed attempt.</summary>
    /// <param name="context">The failure: task, attempt, exception, node and time.</param>
    /// <returns>The decision.</returns>
    RecoveryDecision Decide(in RecoveryContext context);
}
