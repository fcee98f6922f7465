namespace TaskDispatch;

/// <summary>Says that an attempt failed because of its node, not its task: the node crashed, was marked
/// <see cref="NodeHealth.Unavailable"/>, or stopped heartbeating. The task is retried on another node.</summary>
/// <remarks>
/// A node executor (or the work itself) throws it when the node cannot run work, for example a worker process that
/// died or a machine that cannot be reached. A failure whose exception is, or wraps, a <see cref="NodeFailureException"/>
/// is a node fault: its retry avoids the node, and <see cref="RecoveryContext.IsNodeFault"/> tells recovery policies.
/// </remarks>
public sealed class NodeFailureException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NodeFailureException()
        : base("The node failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public NodeFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NodeFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the node that failed, when known.</summary>
    public string? NodeName { get; init; }

    /// <summary>Tells whether <paramref name="exception"/> is a node fault: a <see cref="NodeFailureException"/>, or one
    /// wrapping it (as an inner exception or inside an <see cref="AggregateException"/>).</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>Whether the node is to blame.</returns>
    public static bool IsNodeFault(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++)
        {
            if (exception is NodeFailureException)
            {
                return true;
            }

            if (exception is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (IsNodeFault(inner))
                    {
                        return true;
                    }
                }

                return false;
            }

            exception = exception.InnerException;
        }

        return false;
    }
}
