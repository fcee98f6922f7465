namespace TaskDispatch;

/// <summary>Decides what happens after an attempt fails: retry (now or after a delay; anywhere, on the same node or on
/// another node) or give up (the task fails and goes to the dead letters).</summary>
/// <remarks>
/// A pure decision: the dispatcher carries it out, and it alone decides whether and where a task runs again; the
/// dispatcher adds no limit of its own. The built-ins honour the task's <see cref="TaskOptions.MaxRetryAttempts"/>; a
/// custom policy should too. It may be called from several node workers at once, so an implementation must be
/// thread-safe; the built-ins are stateless. A cancelled task is never offered for recovery.
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
