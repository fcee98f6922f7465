namespace TaskDispatch;

/// <summary>What a handler task runs: which handler (for its kind), its input (for node executors) and, in a durable
/// dispatcher, the binding that stores it and the input as it was stored.</summary>
internal abstract class HandlerWork(Type handlerType)
{
    internal Type HandlerType { get; } = handlerType;

    internal abstract object? BoxedInput { get; }

    /// <summary>Gets the input's type when it is a request (<see cref="ITaskRequest{TResult}"/>), which is then the
    /// task's kind; <see langword="null"/> for any other input.</summary>
    internal abstract Type? RequestType { get; }

    /// <summary>Gets or sets how the task is stored, in a durable dispatcher; <see langword="null"/> otherwise.</summary>
    internal HandlerBinding? Binding { get; set; }

    /// <summary>Gets or sets the input as JSON, in a durable dispatcher.</summary>
    internal string? InputJson { get; set; }

    /// <summary>Gets or sets what completes once the latest submission of this work was written (or given up), so that
    /// the task's end is never written before its addition; <see langword="null"/> for a replayed task, already stored.</summary>
    internal Task? Stored { get; set; }
}

/// <summary>The input of a handler task, boxed once so that a value-type input is stored without a generic handle per input type.</summary>
internal sealed class HandlerInput<TInput>(TInput value, Type handlerType) : HandlerWork(handlerType)
{
    // Found once per input type, not per task.
    private static readonly Type? s_requestType = RequestRoutes.IsRequest(typeof(TInput)) ? typeof(TInput) : null;

    internal TInput Value { get; } = value;

    internal override object? BoxedInput => Value;

    internal override Type? RequestType => s_requestType;
}
