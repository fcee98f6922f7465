namespace TaskDispatch.Tests.Support;

/// <summary>
/// Retries once after <c>delay</c>, then gives up; but each decision waits until the test calls <see cref="Proceed"/>,
/// so that a test can act while a worker is inside the recovery decision (attempt over, task still Running).
/// </summary>
public sealed class GatedRecoveryPolicy(TimeSpan delay) : IRecoveryPolicy, IDisposable
{
    private readonly ManualResetEventSlim _proceed = new();

    /// <summary>Gets a signal set when a decision starts.</summary>
    public Signal Deciding { get; } = new();

    public void Proceed() => _proceed.Set();

    public RecoveryDecision Decide(in RecoveryContext context)
    {
        Deciding.Set();
        _proceed.Wait(TestTimeouts.Generous);
        return context.Attempt < 2 ? RecoveryDecision.Retry(delay) : RecoveryDecision.GiveUp;
    }

    public void Dispose() => _proceed.Dispose();
}
