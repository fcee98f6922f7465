namespace TaskDispatch;

/// <summary>The handle of a task without a result.</summary>
internal sealed class ActionTaskHandle : TaskHandle
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<TaskContext, object?, ValueTask> _work;
    private readonly object? _state;

    internal ActionTaskHandle(
        TaskDispatcher dispatcher,
        string id,
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

    public override Task Completion => _completion.Task;

    internal override object? Work => _state;

    internal override ValueTask RunAsync(TaskContext context) => _work(context, _state);

    internal override TaskHandle Recreate(TaskDispatcher dispatcher, TaskOptions options, long sequenceNumber, DateTimeOffset submittedAt) =>
        new ActionTaskHandle(dispatcher, Id, options, sequenceNumber, submittedAt, _work, _state);

    private protected override void SetSucceeded() => _completion.TrySetResult();

    private protected override void SetFailed(Exception exception) => _completion.TrySetException(exception);

    private protected override void SetCancelled(CancellationToken token) => _completion.TrySetCanceled(token);
}
