namespace TaskDispatch;

/// <summary>Thrown by <c>SubmitAsync</c> when the dispatcher is full and <see cref="TaskDispatcherOptions.FullMode"/> is <see cref="QueueFullMode.Reject"/>.</summary>
public sealed class TaskRejectedException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public TaskRejectedException()
        : base("The dispatcher is full and rejects new tasks.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public TaskRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TaskRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
