using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace TaskDispatch;

/// <summary>The handle is its own awaitable: no <see cref="TaskCompletionSource"/> per task. Awaiters register
/// continuations here, which run on the thread pool (or the captured context) once the task's outcome is announced,
/// never inline on the thread that completes it. <see cref="Completion"/> is created only when someone asks for it.</summary>
public abstract partial class TaskHandle : IValueTaskSource
{
    /// <summary>Marks <see cref="_waiters"/> once the awaitable has completed.</summary>
    private static readonly object s_completed = new();

    /// <summary><see langword="null"/> while incomplete with no waiter; a chain of <see cref="Waiter"/>s while incomplete;
    /// <see cref="s_completed"/> once complete.</summary>
    private object? _waiters;

    /// <summary>Gets whether the awaitable has completed: the task has ended and its observers have heard.</summary>
    internal bool IsAwaitableCompleted => ReferenceEquals(Volatile.Read(ref _waiters), s_completed);

    /// <summary>Gets an awaiter so that <c>await handle</c> waits for the task's outcome.</summary>
    /// <returns>The awaiter.</returns>
    public ValueTaskAwaiter GetAwaiter() => new ValueTask(this, 0).GetAwaiter();

    /// <summary>Gets the task's outcome as a <see cref="ValueTask"/> without allocating, for example to
    /// <c>ConfigureAwait(false)</c> it. It completes as <c>await handle</c> does and may be awaited any number of times.</summary>
    /// <returns>The awaitable outcome.</returns>
    public ValueTask AsValueTask() => new(this, 0);

    /// <inheritdoc />
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => GetStatus();

    /// <inheritdoc />
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        AddWaiter(continuation, state, flags);

    /// <inheritdoc />
    void IValueTaskSource.GetResult(short token) => ThrowUnlessSucceeded();

    /// <summary>Gets the awaitable's status: pending until the outcome is announced, then by the terminal state.</summary>
    private protected ValueTaskSourceStatus GetStatus() => !IsAwaitableCompleted
        ? ValueTaskSourceStatus.Pending
        : State switch
        {
            TaskState.Completed => ValueTaskSourceStatus.Succeeded,
            TaskState.Failed => ValueTaskSourceStatus.Faulted,
            _ => ValueTaskSourceStatus.Canceled,
        };

    /// <summary>Returns when the task completed; throws its exception when it failed, and
    /// <see cref="OperationCanceledException"/> when it was cancelled.</summary>
    private protected void ThrowUnlessSucceeded()
    {
        if (!IsAwaitableCompleted)
        {
            throw new InvalidOperationException($"Task '{Id}' has not finished; await the handle instead of reading its result.");
        }

        switch (State)
        {
            case TaskState.Completed:
                return;
            case TaskState.Failed:
                ExceptionDispatchInfo.Throw(Exception ?? new InvalidOperationException($"Task '{Id}' failed."));
                return;
            default:
                throw new OperationCanceledException(
                    $"Task '{Id}' was cancelled.",
                    Options.CancellationToken.IsCancellationRequested ? Options.CancellationToken : new CancellationToken(canceled: true));
        }
    }

    /// <summary>Gets <see cref="Completion"/>, creating it from the awaitable on first request.</summary>
    private protected TTask GetCompletionTask<TTask>(Func<TaskHandle, TTask> create)
        where TTask : Task
    {
        var extras = Side;
        if (Volatile.Read(ref extras.CompletionTask) is TTask existing)
        {
            return existing;
        }

        var created = create(this);
        return (TTask)(Interlocked.CompareExchange(ref extras.CompletionTask, created, null) ?? created);
    }

    /// <summary>Registers an awaiter's continuation, or schedules it at once when the awaitable has completed.</summary>
    private protected void AddWaiter(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        object? scheduler = null;
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
        {
            if (SynchronizationContext.Current is { } context && context.GetType() != typeof(SynchronizationContext))
            {
                scheduler = context;
            }
            else if (TaskScheduler.Current != TaskScheduler.Default)
            {
                scheduler = TaskScheduler.Current;
            }
        }

        var executionContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
        var waiter = new Waiter(continuation, state, executionContext, scheduler);
        while (true)
        {
            var current = Volatile.Read(ref _waiters);
            if (ReferenceEquals(current, s_completed))
            {
                waiter.Schedule();
                return;
            }

            waiter.Next = (Waiter?)current;
            if (Interlocked.CompareExchange(ref _waiters, waiter, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Completes the awaitable and schedules every registered continuation; called once.</summary>
    private void ReleaseWaiters()
    {
        var waiter = Interlocked.Exchange(ref _waiters, s_completed) as Waiter;
        while (waiter is not null)
        {
            var next = waiter.Next;
            waiter.Schedule();
            waiter = next;
        }
    }

    /// <summary>One awaiter's continuation, with the context it asked to resume on.</summary>
    private sealed class Waiter(Action<object?> continuation, object? state, ExecutionContext? executionContext, object? scheduler)
    {
        internal Waiter? Next { get; set; }

        internal void Schedule()
        {
            switch (scheduler)
            {
                case SynchronizationContext context:
                    context.Post(static self => ((Waiter)self!).Invoke(), this);
                    break;
                case TaskScheduler taskScheduler:
                    _ = Task.Factory.StartNew(static self => ((Waiter)self!).Invoke(), this, CancellationToken.None, TaskCreationOptions.DenyChildAttach, taskScheduler);
                    break;
                default:
                    if (executionContext is null)
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: false);
                    }
                    else
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(static self => self.Invoke(), this, preferLocal: false);
                    }

                    break;
            }
        }

        private void Invoke()
        {
            if (executionContext is null)
            {
                continuation(state);
                return;
            }

            ExecutionContext.Run(executionContext, static self => ((Waiter)self!).InvokeDirect(), this);
        }

        private void InvokeDirect() => continuation(state);
    }
}
