namespace TaskDispatch;

/// <summary>What a recovery policy knows about a failed attempt.</summary>
public readonly struct RecoveryContext
{
    /// <summary>Describes a failed attempt; the dispatcher creates these, and tests of a policy can too.</summary>
    /// <param name="task">The task whose attempt failed.</param>
    /// <param name="attempt">The number of the attempt that failed, from 1.</param>
    /// <param name="exception">Why it failed.</param>
    /// <param name="nodeName">The node it ran on.</param>
    /// <param name="failedAt">When it failed.</param>
    /// <param name="isNodeFault">Whether the node is to blame.</param>
    /// <param name="nodeFaults">How many of the task's failed attempts, this one included, were node faults.</param>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="task"/>, <paramref name="exception"/> or <paramref name="nodeName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="attempt"/> is less than 1 or <paramref name="nodeFaults"/> is negative.</exception>
    public RecoveryContext(TaskHandle task, int attempt, Exception exception, string nodeName, DateTimeOffset failedAt, bool isNodeFault = false, int nodeFaults = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(nodeName);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(nodeFaults);
        Task = task;
        Attempt = attempt;
        Exception = exception;
        NodeName = nodeName;
        FailedAt = failedAt;
        IsNodeFault = isNodeFault;
        NodeFaults = nodeFaults;
    }

    /// <summary>Gets the task whose attempt failed.</summary>
    public TaskHandle Task { get; }

    /// <summary>Gets the number of the attempt that failed, from 1.</summary>
    public int Attempt { get; }

    /// <summary>Gets why it failed; a <see cref="TimeoutException"/> when the attempt exceeded <see cref="TaskOptions.Timeout"/>,
    /// a <see cref="NodeFailureException"/> when its node failed, was marked unavailable or it stopped heartbeating.</summary>
    public Exception Exception { get; }

    /// <summary>Gets the node the attempt ran on.</summary>
    public string NodeName { get; }

    /// <summary>Gets when the failure was observed, from the dispatcher's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset FailedAt { get; }

    /// <summary>Gets whether the node is to blame (see <see cref="NodeFailureException"/>): a retry avoids that node.</summary>
    public bool IsNodeFault { get; }

    /// <summary>Gets how many of the task's failed attempts so far, this one included, were node faults.</summary>
    public int NodeFaults { get; }
}
