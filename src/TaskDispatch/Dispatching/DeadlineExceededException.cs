namespace TaskDispatch;

/// <summary>The outcome of a task whose <see cref="TaskOptions.Deadline"/> passed before it could start, when
/// <see cref="TaskDispatcherOptions.FailExpiredDeadlines"/> is set.</summary>
public sealed class DeadlineExceededException : TimeoutException
{
    /// <summary>Creates the exception with a default message.</summary>
    public DeadlineExceededException()
        : base("The task's deadline passed before it could start.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public DeadlineExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public DeadlineExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
