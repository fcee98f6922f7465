namespace TaskDispatch;

/// <summary>A durable task store cannot do what was asked: its file or server is missing, locked, corrupt, full,
/// read-only, or written by a newer version. The message names the store and what to do; the inner exception is the
/// driver's. A submission that gets this exception was not accepted.</summary>
public sealed class TaskStoreException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="TaskStoreException"/> class.</summary>
    public TaskStoreException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="TaskStoreException"/> class.</summary>
    /// <param name="message">What failed, and what to do.</param>
    public TaskStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="TaskStoreException"/> class.</summary>
    /// <param name="message">What failed, and what to do.</param>
    /// <param name="innerException">The driver's error.</param>
    public TaskStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
