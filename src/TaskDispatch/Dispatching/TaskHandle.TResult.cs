using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace TaskDispatch;

/// <summary>A submitted task that produces a <typeparamref name="TResult"/>; <c>await handle</c> returns it.</summary>
/// <typeparam name="TResult">The task's result.</typeparam>
public sealed class TaskHandle<TResult> : TaskHandle, IValueTaskSource<TResult>
{
    private readonly Func<TaskContext, object?, ValueTask<TResult>> _work;
    private readonly object? _state;
    private readonly bool _requiresScope;
    private TResult? _result;

    internal TaskHandle(
        TaskDispatcher dispatcher,
        string? id,
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
    public override Task<TResult> Completion => GetCompletionTask(static handle => new ValueTask<TResult>((TaskHandle<TResult>)handle, 0).AsTask());

    internal override bool RequiresScope => _requiresScope;

    internal override object? Work => _state;

    internal override TaskHandle Recreate(TaskDispatcher dispatcher, TaskOptions options, long sequenceNumber, DateTimeOffset submittedAt) =>
        new TaskHandle<TResult>(dispatcher, Id, options, sequenceNumber, submittedAt, _work, _state, _requiresScope);

    /// <summary>Gets an awaiter so that <c>await handle</c> returns the task's result.</summary>
    /// <returns>The awaiter.</returns>
    public new ValueTaskAwaiter<TResult> GetAwaiter() => new ValueTask<TResult>(this, 0).GetAwaiter();

    /// <summary>Gets the task's result as a <see cref="ValueTask{TResult}"/> without allocating, for example to
    /// <c>ConfigureAwait(false)</c> it. It completes as <c>await handle</c> does and may be awaited any number of times.</summary>
    /// <returns>The awaitable result.</returns>
    public new ValueTask<TResult> AsValueTask() => new(this, 0);

    /// <inheritdoc />
    ValueTaskSourceStatus IValueTaskSource<TResult>.GetStatus(short token) => GetStatus();

    /// <inheritdoc />
    void IValueTaskSource<TResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        AddWaiter(continuation, state, flags);

    /// <inheritdoc />
    TResult IValueTaskSource<TResult>.GetResult(short token)
    {
        ThrowUnlessSucceeded();

        // The attempt that completed the task kept its result in the field (attempt 1) or in a box of its own.
        return Context is { Attempt: > 1, ResultBox: StrongBox<TResult> box } ? box.Value! : _result!;
    }

    // Pooled: an attempt whose work completes asynchronously would otherwise allocate a state machine box per attempt.
#if !COYOTE // Coyote 1.7.11 rewrites pooling-builder methods into invalid IL; see eng/coyote-test.sh.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
#endif
    internal override async ValueTask RunAsync(TaskContext context) =>
        SetAttemptResult(context, await _work(context, _state).ConfigureAwait(false));

    /// <summary>Gets the result of a completed task, or the default before then; for durable stores.</summary>
    internal TResult? ResultOrDefault => State != TaskState.Completed
        ? default
        : Context is { Attempt: > 1, ResultBox: StrongBox<TResult> box } ? box.Value : _result;

    /// <summary>Gives a handle rebuilt from a durable store its stored result.</summary>
    internal void RestoreResult(TResult result) => _result = result;

    /// <summary>Keeps the result of the attempt of <paramref name="context"/>, from the work or a node executor.</summary>
    internal void SetAttemptResult(TaskContext context, TResult result)
    {
        // The first attempt writes the field; later ones a box of their own, so an earlier attempt that was given up and
        // still returns cannot overwrite the result of the attempt that completes the task.
        if (context.Attempt == 1)
        {
            _result = result;
        }
        else
        {
            context.ResultBox = new StrongBox<TResult>(result);
        }
    }
}
