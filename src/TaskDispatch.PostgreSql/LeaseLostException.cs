namespace TaskDispatch;

/// <summary>Thrown when a node writes for a task whose lease it no longer holds (it was paused or cut off past the lease,
/// and the task moved to another node): the write is refused, so that a late node never overwrites newer work.</summary>
public sealed class LeaseLostException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="LeaseLostException"/> class.</summary>
    public LeaseLostException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LeaseLostException"/> class with a message.</summary>
    /// <param name="message">What was refused.</param>
    public LeaseLostException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LeaseLostException"/> class with a message and a cause.</summary>
    /// <param name="message">What was refused.</param>
    /// <param name="innerException">The cause.</param>
    public LeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
