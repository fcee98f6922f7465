namespace TaskDispatch;

/// <summary>What a recovery policy knows about a failed attempt.</summary>
public readonly struct RecoveryContext
{
    internal RecoveryContext(TaskHandle task, int attempt, Exception exception, string nodeName, DateTimeOffset failedAt)
    {
        Task = task;
        Attempt = attempt;
        Exception = exception;
        NodeName = nodeName;
        FailedAt = failedAt;
    }

    /// <summary>Gets the task whose attempt failed.</summary>
    public TaskHandle Task { get; }

    /// <summary>Gets the number of the attempt that failed, from 1.</summary>
    public int Attempt { get; }

    /// <summary>Gets why it failed; a <see cref="TimeoutException"/> when the attempt exceeded <see cref="TaskOptions.Timeout"/>.</summary>
    public Exception Exception { get; }

    /// <summary>Gets the node the attempt ran on.</summary>
    public string NodeName { get; }

    /// <summary>Gets when the failure was observed, from the dispatcher's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset FailedAt { get; }
}
