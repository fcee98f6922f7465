using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    private static readonly TimerCallback s_onReadyTimer = static state =>
    {
        var task = (TaskHandle)state!;
        task.DisposeReadyTimer();
        task.Dispatcher.PostReady(task);
    };

    /// <summary>Creates the handle of an accepted task; static lambdas with the work as state keep submission free of closures.</summary>
    private delegate THandle HandleFactory<THandle>(TaskDispatcher dispatcher, string id, TaskOptions options, long sequence, DateTimeOffset now, object work)
        where THandle : TaskHandle;

    /// <inheritdoc />
    public ValueTask<TaskHandle> SubmitAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return SubmitCoreAsync(work, options, ActionFactory.Create, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<TaskHandle<TResult>> SubmitAsync<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return SubmitCoreAsync(work, options, DelegateFactory<TResult>.Create, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<TaskHandle<TResult>> SubmitAsync<THandler, TInput, TResult>(TInput input, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        if (_scopeFactory is null)
        {
            throw new InvalidOperationException(
                $"Dispatcher '{Name}' has no service provider to resolve {typeof(THandler).Name} from; register it with services.AddTaskDispatch() or call TaskDispatcherBuilder.UseServiceProvider.");
        }

        return SubmitCoreAsync(new HandlerInput<TInput>(input, typeof(THandler)), options, HandlerFactory<THandler, TInput, TResult>.Create, cancellationToken);
    }

    /// <inheritdoc />
    public bool TrySubmit(Func<TaskContext, ValueTask> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(work);
        return TrySubmitCore(work, options, ActionFactory.Create, out handle);
    }

    /// <inheritdoc />
    public bool TrySubmit<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle<TResult>? handle)
    {
        ArgumentNullException.ThrowIfNull(work);
        return TrySubmitCore(work, options, DelegateFactory<TResult>.Create, out handle);
    }

    private static readonly TimerCallback s_onOverallTimeout = static state => ((TaskHandle)state!).ExpireOverallTimeout();

    /// <summary>Submits a failed task's work again under its id and options; for <see cref="DeadLetterList.ResubmitAsync"/>.</summary>
    internal async ValueTask<TaskHandle> ResubmitAsync(TaskHandle failed, CancellationToken cancellationToken) =>
        await SubmitCoreAsync<TaskHandle>(
            failed.Work ?? failed,
            failed.Options,
            (dispatcher, _, options, sequence, now, _) => failed.Recreate(dispatcher, options, sequence, now),
            cancellationToken).ConfigureAwait(false);

    /// <summary>Queues a task for the scheduler.</summary>
    internal void PostReady(TaskHandle task) => Post(SchedulerEvent.Ready(task));

    private static string GenerateId(long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{TaskDispatcherDefaults.GeneratedIdPrefix}{sequence}");

    private ValueTask<THandle> SubmitCoreAsync<THandle>(object work, TaskOptions? options, HandleFactory<THandle> factory, CancellationToken cancellationToken)
        where THandle : TaskHandle
    {
        options ??= TaskOptions.Default;
        ValidateOptions(options);
        var reentrant = CurrentTaskOfThisDispatcher();
        ThrowIfNotAccepting(reentrant);

        if (options.Id is { } id && _tasks.TryGetValue(id, out var existing))
        {
            return new ValueTask<THandle>(AsExisting<THandle>(existing));
        }

        if (reentrant is not null || _pendingPermits.TryAcquire())
        {
            return new ValueTask<THandle>(Accept(work, options, factory, holdsPermit: reentrant is null, reentrant));
        }

        if (_options.FullMode == QueueFullMode.Reject)
        {
            MeasureRejected();
            throw new TaskRejectedException($"Dispatcher '{Name}' already holds {_options.MaxPendingTasks} pending tasks ({nameof(TaskDispatcherOptions.MaxPendingTasks)}); the task was rejected.");
        }

        return WaitForRoomAndAcceptAsync(work, options, factory, cancellationToken);
    }

    private bool TrySubmitCore<THandle>(object work, TaskOptions? options, HandleFactory<THandle> factory, [NotNullWhen(true)] out THandle? handle)
        where THandle : TaskHandle
    {
        options ??= TaskOptions.Default;
        ValidateOptions(options);
        var reentrant = CurrentTaskOfThisDispatcher();
        ThrowIfNotAccepting(reentrant);
        if (options.Id is { } id && _tasks.TryGetValue(id, out var existing))
        {
            handle = AsExisting<THandle>(existing);
            return true;
        }

        if (reentrant is null && !_pendingPermits.TryAcquire())
        {
            MeasureRejected();
            handle = null;
            return false;
        }

        handle = Accept(work, options, factory, holdsPermit: reentrant is null, reentrant);
        return true;
    }

    private async ValueTask<THandle> WaitForRoomAndAcceptAsync<THandle>(object work, TaskOptions options, HandleFactory<THandle> factory, CancellationToken cancellationToken)
        where THandle : TaskHandle
    {
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token))
        {
            try
            {
                await _pendingPermits.AcquireAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                ThrowIfNotAccepting(reentrant: null);
                throw;
            }
        }

        return Accept(work, options, factory, holdsPermit: true, reentrant: null);
    }

    /// <summary>Registers an accepted task and hands it to its timer or the scheduler.</summary>
    private THandle Accept<THandle>(object work, TaskOptions options, HandleFactory<THandle> factory, bool holdsPermit, TaskContext? reentrant)
        where THandle : TaskHandle
    {
        // Counting the submission as live before reading the stop state pairs with StopAsync, which sets the state
        // and then reads the count: either this submission sees the stop, or the stop waits for this task.
        Interlocked.Increment(ref _liveCount);
        if (!IsAccepting(reentrant))
        {
            if (holdsPermit)
            {
                ReleasePendingPermit();
            }

            ReleaseLive();
            ThrowIfNotAccepting(reentrant);
        }

        var sequence = Interlocked.Increment(ref _sequence);
        var now = TimeProvider.GetUtcNow();
        var handle = factory(this, options.Id ?? GenerateId(sequence), options, sequence, now, work);
        if (holdsPermit)
        {
            handle.TakePermit();
        }

        var startAt = options.NotBefore ?? (options.Delay is { } delay ? now + delay : now);
        handle.ReadyAt = startAt > now ? startAt : now;

        while (!_tasks.TryAdd(handle.Id, handle))
        {
            if (_tasks.TryGetValue(handle.Id, out var existing))
            {
                handle.ReleasePermit();
                ReleaseLive();
                return AsExisting<THandle>(existing);
            }
        }

        _accepted.Increment();
        MeasureAccepted(handle);
        TraceAccepted(handle);
        OnTransition(handle, TaskState.Pending, TaskState.Pending, 0);
        handle.RegisterCancellation(options.CancellationToken);
        if (options.OverallTimeout is { } overall && overall != Timeout.InfiniteTimeSpan)
        {
            handle.SetOverallTimer(TimeProvider.CreateTimer(s_onOverallTimeout, handle, overall, Timeout.InfiniteTimeSpan));
        }

        if (handle.IsFinished)
        {
            return handle;
        }

        if (startAt > now)
        {
            handle.SetReadyTimer(TimeProvider.CreateTimer(s_onReadyTimer, handle, startAt - now, Timeout.InfiniteTimeSpan));
        }
        else
        {
            PostReady(handle);
        }

        return handle;
    }

    /// <summary>The identity of a task's kind when <see cref="TaskOptions.Kind"/> is not given: the handler type of a
    /// handler task, the method of a delegate task.</summary>
    internal static object KindOf(object? work) => work switch
    {
        HandlerWork handlerWork => handlerWork.HandlerType,
        Delegate function => function.Method,
        _ => string.Empty,
    };

    /// <summary>The input of a handler task, or <see langword="null"/> for a delegate task.</summary>
    internal static object? InputOf(object? work) => (work as HandlerWork)?.BoxedInput;

    private THandle AsExisting<THandle>(TaskHandle existing)
        where THandle : TaskHandle =>
        existing as THandle ?? throw new InvalidOperationException(
            $"A live task with id '{existing.Id}' exists on dispatcher '{Name}' with another result type ({existing.GetType().Name}); ids must be unique among live tasks.");

    private TaskContext? CurrentTaskOfThisDispatcher() =>
        s_workerSlot.Value?.Current is { } context && ReferenceEquals(context.Owner, this) ? context : null;

    /// <summary>A stopping dispatcher still takes follow-up work from its own running tasks while it drains.</summary>
    private bool IsAccepting(TaskContext? reentrant) => Volatile.Read(ref _stopState) switch
    {
        Running => _fault is null,
        Draining => reentrant is not null && !reentrant.Handle.IsFinished,
        _ => false,
    };

    private void ThrowIfNotAccepting(TaskContext? reentrant)
    {
        if (IsAccepting(reentrant))
        {
            return;
        }

        if (_fault is { } fault)
        {
            throw new InvalidOperationException($"Dispatcher '{Name}' failed and accepts no new tasks.", fault);
        }

        if (Volatile.Read(ref _stopState) == Stopped || Volatile.Read(ref _disposed) != 0)
        {
            throw new ObjectDisposedException(nameof(TaskDispatcher), $"Dispatcher '{Name}' has stopped and accepts no new tasks.");
        }

        throw new InvalidOperationException($"Dispatcher '{Name}' is stopping and accepts no new tasks.");
    }

    /// <summary>Rejects bad options at the call site, naming the offending property.</summary>
    private void ValidateOptions(TaskOptions options)
    {
        if (options.Id is { } id)
        {
            if (string.IsNullOrWhiteSpace(id))
            {
                throw new ArgumentException("Task id must not be empty or white space.", "options.Id");
            }

            if (id.StartsWith(TaskDispatcherDefaults.GeneratedIdPrefix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Task id '{id}' must not start with '{TaskDispatcherDefaults.GeneratedIdPrefix}', which is reserved for generated ids.", "options.Id");
            }
        }

        if (options.EstimatedDuration is { } estimate && estimate < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options.EstimatedDuration", estimate, $"EstimatedDuration must not be negative, was {estimate}.");
        }

        ValidateTimeLimit(options.Timeout, "options.Timeout", allowInfinite: true);
        ValidateTimeLimit(options.OverallTimeout, "options.OverallTimeout", allowInfinite: true);
        ValidateTimeLimit(options.HeartbeatTimeout, "options.HeartbeatTimeout", allowInfinite: false);

        if (options.MaxAttempts is { } attempts && attempts < 1)
        {
            throw new ArgumentOutOfRangeException("options.MaxAttempts", attempts, $"MaxAttempts must be at least 1, was {attempts}.");
        }

        if (options.Delay is { } delay && delay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options.Delay", delay, $"Delay must not be negative, was {delay}.");
        }

        if (options.Delay is { } longDelay && longDelay > TaskDispatcherDefaults.MaxDelay)
        {
            throw new ArgumentOutOfRangeException("options.Delay", longDelay, $"Delay must be at most {TaskDispatcherDefaults.MaxDelay}, was {longDelay}.");
        }

        if (options.NotBefore is { } notBefore && notBefore - TimeProvider.GetUtcNow() > TaskDispatcherDefaults.MaxDelay)
        {
            throw new ArgumentOutOfRangeException("options.NotBefore", notBefore, $"NotBefore must be within {TaskDispatcherDefaults.MaxDelay} from now, was {notBefore:O}.");
        }

        if (options.Delay is not null && options.NotBefore is not null)
        {
            throw new ArgumentException("Set either Delay or NotBefore, not both.", "options.Delay");
        }

        if (options.ResourceDemand is { } demand)
        {
            foreach (var (resource, amount) in demand)
            {
                if (string.IsNullOrWhiteSpace(resource))
                {
                    throw new ArgumentException("ResourceDemand contains an empty resource name.", "options.ResourceDemand");
                }

                if (!double.IsFinite(amount) || amount < 0)
                {
                    throw new ArgumentOutOfRangeException("options.ResourceDemand", amount, $"ResourceDemand[{resource}] must be finite and not negative, was {amount}.");
                }
            }
        }

        if (options.RequiredTags is { } tags)
        {
            foreach (var tag in tags)
            {
                if (string.IsNullOrWhiteSpace(tag))
                {
                    throw new ArgumentException("RequiredTags contains an empty tag.", "options.RequiredTags");
                }
            }
        }

        if (options.PreferredTags is { } preferred)
        {
            foreach (var tag in preferred)
            {
                if (string.IsNullOrWhiteSpace(tag))
                {
                    throw new ArgumentException("PreferredTags contains an empty tag.", "options.PreferredTags");
                }
            }
        }

        if (options.RequiredNode is { } nodeName && Array.FindIndex(_nodeSnapshots, n => string.Equals(n.Name, nodeName, StringComparison.Ordinal)) < 0)
        {
            throw new ArgumentException($"RequiredNode '{nodeName}' is not a node of dispatcher '{Name}'.", "options.RequiredNode");
        }

        if (options.RequiredNode is not null || options.RequiredTags is { Count: > 0 } || options.ResourceDemand is { Count: > 0 })
        {
            ThrowIfNoNodeCanEverRun(options);
        }
    }

    private static void ValidateTimeLimit(TimeSpan? limit, string name, bool allowInfinite)
    {
        if (limit is not { } value || (allowInfinite && value == Timeout.InfiniteTimeSpan))
        {
            return;
        }

        if (value <= TimeSpan.Zero || value > TaskDispatcherDefaults.MaxDelay)
        {
            var shortName = name["options.".Length..];
            throw new ArgumentOutOfRangeException(name, value, allowInfinite
                ? $"{shortName} must be positive and at most {TaskDispatcherDefaults.MaxDelay}, or Timeout.InfiniteTimeSpan; was {value}."
                : $"{shortName} must be positive and at most {TaskDispatcherDefaults.MaxDelay}; was {value}.");
        }
    }

    private void ThrowIfNoNodeCanEverRun(TaskOptions options)
    {
        foreach (var node in _nodeSnapshots)
        {
            if (node.CanEverRun(options))
            {
                return;
            }
        }

        // Blame the first constraint that no node meets on its own; if each is met somewhere, it is their combination.
        if (options.RequiredTags is { Count: > 0 } && !AnyNodeCanRun(new TaskOptions { RequiredTags = options.RequiredTags }))
        {
            throw new ArgumentException($"No node of dispatcher '{Name}' carries all of the RequiredTags [{string.Join(", ", options.RequiredTags)}].", "options.RequiredTags");
        }

        if (options.ResourceDemand is { Count: > 0 } && !AnyNodeCanRun(new TaskOptions { ResourceDemand = options.ResourceDemand }))
        {
            throw new ArgumentException($"No node of dispatcher '{Name}' has the capacity for the ResourceDemand, even when idle.", "options.ResourceDemand");
        }

        throw new ArgumentException(
            $"No node of dispatcher '{Name}' can ever run this task: none has the required node name, tags and resource capacity together.",
            options.RequiredNode is not null ? "options.RequiredNode" : "options");
    }

    private bool AnyNodeCanRun(TaskOptions options) => Array.Exists(_nodeSnapshots, node => node.CanEverRun(options));

    /// <summary>What a handler task runs: which handler, for its kind, and its input, for node executors.</summary>
    private abstract class HandlerWork(Type handlerType)
    {
        internal Type HandlerType { get; } = handlerType;

        internal abstract object? BoxedInput { get; }
    }

    /// <summary>The input of a handler task, boxed once so that a value-type input is stored without a generic handle per input type.</summary>
    private sealed class HandlerInput<TInput>(TInput value, Type handlerType) : HandlerWork(handlerType)
    {
        internal TInput Value { get; } = value;

        internal override object? BoxedInput => Value;
    }

    private static class ActionFactory
    {
        internal static readonly HandleFactory<TaskHandle> Create = static (dispatcher, id, options, sequence, now, work) =>
            new ActionTaskHandle(dispatcher, id, options, sequence, now, static (context, state) => ((Func<TaskContext, ValueTask>)state!)(context), work);
    }

    private static class DelegateFactory<TResult>
    {
        internal static readonly HandleFactory<TaskHandle<TResult>> Create = static (dispatcher, id, options, sequence, now, work) =>
            new TaskHandle<TResult>(dispatcher, id, options, sequence, now, static (context, state) => ((Func<TaskContext, ValueTask<TResult>>)state!)(context), work, requiresScope: false);
    }

    private static class HandlerFactory<THandler, TInput, TResult>
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        internal static readonly HandleFactory<TaskHandle<TResult>> Create = static (dispatcher, id, options, sequence, now, work) =>
            new TaskHandle<TResult>(dispatcher, id, options, sequence, now, RunHandlerAsync, work, requiresScope: true);

        private static async ValueTask<TResult> RunHandlerAsync(TaskContext context, object? state)
        {
            var services = context.Services!;
            var registered = services.GetService<THandler>();
            var handler = registered ?? ActivatorUtilities.CreateInstance<THandler>(services);
            try
            {
                return await handler.HandleAsync(((HandlerInput<TInput>)state!).Value, context).ConfigureAwait(false);
            }
            finally
            {
                // A handler we constructed is ours to dispose; a registered one belongs to its scope.
                if (registered is null)
                {
                    if (handler is IAsyncDisposable asyncDisposable)
                    {
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    }
                    else if (handler is IDisposable disposable)
                    {
                        disposable.Dispose();
                    }
                }
            }
        }
    }
}
