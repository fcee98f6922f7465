namespace TaskDispatch;

/// <summary>The handle of a task without a result.</summary>
internal sealed class ActionTaskHandle : TaskHandle
{
    private readonly Func<TaskContext, object?, ValueTask> _work;
    private readonly object? _state;

    internal ActionTaskHandle(
        TaskDispatcher dispatcher,
        string? id,
        TaskOptions options,
        long sequenceNumber,
        DateTimeOffset submittedAt,
        Func<TaskContext, object?, ValueTask> work,
        object? state)
        : base(dispatcher, id, options, sequenceNumber, submittedAt)
    {
        _work = work;
        _state = state;
    }

    public override Task Completion => GetCompletionTask(static handle => new ValueTask(handle, 0).AsTask());

    internal override object? Work => _state;

    internal override ValueTask RunAsync(TaskContext context) => _work(context, _state);

    internal override TaskHandle Recreate(TaskDispatcher dispatcher, TaskOptions options, long sequenceNumber, DateTimeOffset submittedAt) =>
        new ActionTaskHandle(dispatcher, Id, options, sequenceNumber, submittedAt, _work, _state);
}
