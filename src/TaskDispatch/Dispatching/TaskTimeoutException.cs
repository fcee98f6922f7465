namespace TaskDispatch;

/// <summary>The dispatcher timed out an attempt (<see cref="TaskOptions.Timeout"/>) or a whole task
/// (<see cref="TaskOptions.OverallTimeout"/>). A <see cref="TimeoutException"/>, so code that catches those catches it;
/// its own type tells a timeout the dispatcher enforced from one the task's code threw, in metrics
/// (<see cref="TaskDispatchMetrics.FaultTag"/> <c>timeout</c>) and in recovery policies.</summary>
public sealed class TaskTimeoutException : TimeoutException
{
    /// <summary>Initializes a new instance of the <see cref="TaskTimeoutException"/> class.</summary>
    public TaskTimeoutException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="TaskTimeoutException"/> class with a message.</summary>
    /// <param name="message">What timed out.</param>
    public TaskTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="TaskTimeoutException"/> class with a message and the
    /// cancellation the timeout caused.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="innerException">The exception the timed-out work ended with.</param>
    public TaskTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
