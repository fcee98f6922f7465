namespace TaskDispatch;

/// <summary>One failed attempt of a task: which, where, when, why, and whether the node was to blame.</summary>
public sealed class AttemptFailure
{
    internal AttemptFailure(int attempt, string nodeName, Exception exception, DateTimeOffset failedAt, bool isNodeFault)
    {
        Attempt = attempt;
        NodeName = nodeName;
        Exception = exception;
        FailedAt = failedAt;
        IsNodeFault = isNodeFault;
    }

    /// <summary>Gets the number of the attempt, from 1.</summary>
    public int Attempt { get; }

    /// <summary>Gets the node the attempt ran on.</summary>
    public string NodeName { get; }

    /// <summary>Gets why the attempt failed.</summary>
    public Exception Exception { get; }

    /// <summary>Gets when the failure was observed, from the dispatcher's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset FailedAt { get; }

    /// <summary>Gets whether the failure was the node's (see <see cref="NodeFailureException"/>) rather than the task's.</summary>
    public bool IsNodeFault { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"Attempt {Attempt} on {NodeName} at {FailedAt:O}{(IsNodeFault ? " (node fault)" : string.Empty)}: {Exception.GetType().Name}: {Exception.Message}";
}
