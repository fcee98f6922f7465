using System.Runtime.CompilerServices;

namespace TaskDispatch;

/// <summary>A submitted task that produces a <typeparamref name="TResult"/>; <c>await handle</c> returns it.</summary>
/// <typeparam name="TResult">The task's result.</typeparam>
public sealed class TaskHandle<TResult> : TaskHandle
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<TaskContext, object?, ValueTask<TResult>> _work;
    private readonly object? _state;
    private readonly bool _requiresScope;
    private TResult? _result;

    internal TaskHandle(
        TaskDispatcher dispatcher,
        string id,
        TaskOptions options,
        long sequenceNumber,
        DateTimeOffset submittedAt,
        Func<TaskContext, object?, ValueTask<TResult>> work,
        object? state,
        bool requiresScope)
        : base(dispatcher, id, options, sequenceNumber, submittedAt)
    {
        _work = work;
        _state = state;
        _requiresScope = requiresScope;
    }

    /// <summary>Gets a task that completes with the handle and carries its result.</summary>
    public override Task<TResult> Completion => _completion.Task;

    internal override bool RequiresScope => _requiresScope;

    internal override object? Work => _state;

    /// <summary>Gets an awaiter so that <c>await handle</c> returns the task's result.</summary>
    /// <returns>The awaiter.</returns>
    public new TaskAwaiter<TResult> GetAwaiter() => _completion.Task.GetAwaiter();

    // Pooled: an attempt whose work completes asynchronously would otherwise allocate a state machine box per attempt.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal override async ValueTask RunAsync(TaskContext context) =>
        _result = await _work(context, _state).ConfigureAwait(false);

    /// <summary>Keeps a result produced by a node executor instead of the work.</summary>
    internal void SetAttemptResult(TResult result) => _result = result;

    private protected override void SetSucceeded() => _completion.TrySetResult(_result!);

    private protected override void SetFailed(Exception exception) => _completion.TrySetException(exception);

    private protected override void SetCancelled(CancellationToken token) => _completion.TrySetCanceled(token);
}
