namespace TaskDispatch;

/// <summary>The error of a task that failed before the process restarted, as its durable store recorded it: the
/// original exception object is gone, its type name and message are kept.</summary>
public sealed class RecordedTaskException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RecordedTaskException"/> class.</summary>
    public RecordedTaskException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RecordedTaskException"/> class.</summary>
    /// <param name="message">The recorded message.</param>
    public RecordedTaskException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RecordedTaskException"/> class.</summary>
    /// <param name="message">The recorded message.</param>
    /// <param name="innerException">The cause.</param>
    public RecordedTaskException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the full name of the original exception's type.</summary>
    public string? ErrorType { get; init; }
}
