using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>Takes submissions: validates their options, applies the pending bound (wait, reject or bypass for a task's
/// own follow-up work), creates and registers the task, and hands it to its start timer or the scheduler.</summary>
internal sealed class TaskIntake
{
    /// <summary>Readies a delayed task, or a retry after its delay.</summary>
    internal static readonly TimerCallback OnReadyTimer = static state =>
    {
        var task = (TaskHandle)state!;
        task.DisposeReadyTimer();
        task.Dispatcher.Scheduler.PostReady(task);
    };

    /// <summary>Fails a task whose overall timeout expired.</summary>
    internal static readonly TimerCallback OnOverallTimeout = static state => ((TaskHandle)state!).ExpireOverallTimeout();

    private readonly TaskDispatcher _dispatcher;
    private readonly string _dispatcherName;
    private readonly TaskRegistry _registry;
    private readonly OutcomeArchive _archive;

    /// <summary>Gets or sets the durable submissions, in a dispatcher with a store; set once, before any submission.</summary>
    internal DurableIntake? Durable { get; set; }
    private readonly Scheduler _scheduler;
    private readonly DispatcherLifecycle _lifecycle;
    private readonly TaskOptionsValidator _validator;
    private readonly TaskNotifier _notifier;
    private readonly TaskCounters _counters;
    private readonly TaskTimings _timings;
    private readonly TimeProvider _timeProvider;

    /// <summary>Counts tasks accepted but not yet running against <see cref="TaskDispatcherOptions.MaxPendingTasks"/>.</summary>
    private readonly PendingLimiter _permits;
    private readonly QueueFullMode _fullMode;
    private readonly int _maxPendingTasks;

    /// <summary>The last arrival number given.</summary>
    private long _sequence;

    internal TaskIntake(TaskDispatcher dispatcher, TaskDispatcherOptions options, TaskRegistry registry, OutcomeArchive archive, Scheduler scheduler, DispatcherLifecycle lifecycle, TaskOptionsValidator validator, TaskNotifier notifier, TaskCounters counters, TaskTimings timings, TimeProvider timeProvider)
    {
        _dispatcher = dispatcher;
        _dispatcherName = dispatcher.Name;
        _registry = registry;
        _archive = archive;
        _scheduler = scheduler;
        _lifecycle = lifecycle;
        _validator = validator;
        _notifier = notifier;
        _counters = counters;
        _timings = timings;
        _timeProvider = timeProvider;
        _permits = new PendingLimiter(options.MaxPendingTasks);
        _fullMode = options.FullMode;
        _maxPendingTasks = options.MaxPendingTasks;
    }

    /// <summary>Creates the handle of an accepted task; static lambdas with the work as state keep submission free of closures.</summary>
    internal delegate THandle HandleFactory<THandle>(TaskDispatcher dispatcher, string? id, TaskOptions options, long sequence, DateTimeOffset now, object work)
        where THandle : TaskHandle;

    /// <summary>Returns a pending permit taken by a task that no longer waits.</summary>
    internal void ReleasePermit() => _permits.Release();

    /// <summary>Submits a failed task's work again under its id and options; for <see cref="DeadLetterList.ResubmitAsync"/>.</summary>
    internal async ValueTask<TaskHandle> ResubmitAsync(TaskHandle failed, CancellationToken cancellationToken)
    {
        // The failed task holds its id while retained; the resubmission takes it over.
        _archive.Forget(failed);
        try
        {
            return await SubmitAsync<TaskHandle>(
                failed.Work ?? failed,
                failed.Options,
                (dispatcher, _, options, sequence, now, _) => failed.Recreate(dispatcher, options, sequence, now),
                cancellationToken,
                replacesEnded: true).ConfigureAwait(false);
        }
        catch
        {
            _archive.Add(failed);
            throw;
        }
    }

    internal ValueTask<TaskHandle> SubmitAction(Func<TaskContext, ValueTask> work, TaskOptions? options, CancellationToken cancellationToken) =>
        SubmitAsync(work, options, HandleFactories.Action.Create, cancellationToken);

    internal ValueTask<TaskHandle<TResult>> SubmitFunction<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options, CancellationToken cancellationToken) =>
        SubmitAsync(work, options, HandleFactories.Function<TResult>.Create, cancellationToken);

    internal ValueTask<TaskHandle<TResult>> SubmitHandler<THandler, TInput, TResult>(TInput input, TaskOptions? options, CancellationToken cancellationToken)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        var work = new HandlerInput<TInput>(input, typeof(THandler));
        Durable?.Prepare<THandler, TInput, TResult>(work);

        return SubmitAsync(work, options, HandleFactories.Handler<THandler, TInput, TResult>.Create, cancellationToken);
    }

    internal bool TrySubmitAction(Func<TaskContext, ValueTask> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle? handle) =>
        TrySubmit(work, options, HandleFactories.Action.Create, out handle);

    internal bool TrySubmitFunction<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle<TResult>? handle) =>
        TrySubmit(work, options, HandleFactories.Function<TResult>.Create, out handle);

    /// <summary>What every submission checks first: its options (at the call site), whether the dispatcher accepts work
    /// (from this caller: a running task of this dispatcher may still add work while it drains), and whether a live or
    /// retained ended task already has the caller's id.</summary>
    /// <returns>The task with the same caller-given id, which the submission returns instead; else <see langword="null"/>.</returns>
    internal TaskHandle? Admit([NotNull] ref TaskOptions? options, out TaskContext? reentrant)
    {
        options ??= TaskOptions.Default;
        _validator.Validate(options);
        reentrant = AttemptRunner.CurrentAttemptOf(_dispatcher);
        _lifecycle.ThrowIfNotAccepting(reentrant);
        // A caller-given id is taken while its task is live and, once it ended, for the outcome retention period.
        return options.Id is { } id && (_registry.TryGet(id, out var existing) || _archive.TryGet(id, out existing)) ? existing : null;
    }

    internal ValueTask<THandle> SubmitAsync<THandle>(object work, TaskOptions? options, HandleFactory<THandle> factory, CancellationToken cancellationToken, bool replacesEnded = false)
        where THandle : TaskHandle
    {
        if (Durable is { } durable)
        {
            return durable.SubmitAsync(work, options, factory, replacesEnded, cancellationToken);
        }

        if (Admit(ref options, out var reentrant) is { } existing)
        {
            return new ValueTask<THandle>(AsExisting<THandle>(existing));
        }

        if (reentrant is not null || _permits.TryAcquire())
        {
            return new ValueTask<THandle>(Accept(work, options, factory, holdsPermit: reentrant is null, reentrant));
        }

        ThrowIfRejecting();
        return WaitForRoomAndAcceptAsync(work, options, factory, cancellationToken);
    }

    internal bool TrySubmit<THandle>(object work, TaskOptions? options, HandleFactory<THandle> factory, [NotNullWhen(true)] out THandle? handle)
        where THandle : TaskHandle
    {
        if (Durable is { } durable)
        {
            // Only delegates come this way, and a durable store cannot keep one.
            throw durable.DelegateRejected();
        }

        if (Admit(ref options, out var reentrant) is { } existing)
        {
            handle = AsExisting<THandle>(existing);
            return true;
        }

        if (reentrant is null && !_permits.TryAcquire())
        {
            _timings.MeasureRejected();
            handle = null;
            return false;
        }

        handle = Accept(work, options, factory, holdsPermit: reentrant is null, reentrant);
        return true;
    }

    private async ValueTask<THandle> WaitForRoomAndAcceptAsync<THandle>(object work, TaskOptions options, HandleFactory<THandle> factory, CancellationToken cancellationToken)
        where THandle : TaskHandle
    {
        await WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
        return Accept(work, options, factory, holdsPermit: true, reentrant: null);
    }

    /// <summary>Takes a pending permit for a submission: at once when there is room, else rejects or waits as
    /// <see cref="TaskDispatcherOptions.FullMode"/> says.</summary>
    internal ValueTask TakePermitAsync(CancellationToken cancellationToken)
    {
        if (_permits.TryAcquire())
        {
            return ValueTask.CompletedTask;
        }

        ThrowIfRejecting();
        return WaitForRoomAsync(cancellationToken);
    }

    /// <summary>With <see cref="QueueFullMode.Reject"/>, refuses a submission that found no room.</summary>
    private void ThrowIfRejecting()
    {
        if (_fullMode == QueueFullMode.Reject)
        {
            _timings.MeasureRejected();
            throw new TaskRejectedException($"Dispatcher '{_dispatcherName}' already holds {_maxPendingTasks} pending tasks ({nameof(TaskDispatcherOptions.MaxPendingTasks)}); the task was rejected.");
        }
    }

    /// <summary>Takes a pending permit if there is room now.</summary>
    internal bool TryTakePermit() => _permits.TryAcquire();

    /// <summary>Counts a replayed task as live and registers it, outside the pending bound (it was accepted long ago).</summary>
    /// <returns><see langword="false"/> when a live task already has its id.</returns>
    internal bool RegisterReplayed(TaskHandle handle)
    {
        _registry.AddLive();
        if (!_registry.TryAdd(handle, out _))
        {
            _registry.ReleaseLive();
            return false;
        }

        _notifier.OnTransition(handle, TaskState.Pending, TaskState.Pending, 0);
        return true;
    }

    private async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifecycle.Stopping);
        try
        {
            await _permits.AcquireAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _lifecycle.ThrowIfNotAccepting(reentrant: null);
            throw;
        }
    }

    /// <summary>Continues the arrival numbers after the highest a durable store has seen.</summary>
    internal void ContinueSequence(long last) => Volatile.Write(ref _sequence, Math.Max(_sequence, last));

    /// <summary>Registers an accepted task and hands it to its timer or the scheduler.</summary>
    private THandle Accept<THandle>(object work, TaskOptions options, HandleFactory<THandle> factory, bool holdsPermit, TaskContext? reentrant)
        where THandle : TaskHandle
    {
        var handle = Register(work, options, factory, holdsPermit, reentrant, out var existing, out var now);
        if (existing is not null)
        {
            return AsExisting<THandle>(existing);
        }

        Schedule(handle, now);
        return handle;
    }

    /// <summary>Creates and registers an accepted task, not yet scheduled; or finds the live task that already has its id.</summary>
    internal THandle Register<THandle>(object work, TaskOptions options, HandleFactory<THandle> factory, bool holdsPermit, TaskContext? reentrant, out TaskHandle? existing, out DateTimeOffset now)
        where THandle : TaskHandle
    {
        // Counting the submission as live before reading the stop state pairs with StopAsync, which sets the state
        // and then reads the count: either this submission sees the stop, or the stop waits for this task.
        _registry.AddLive();
        if (!_lifecycle.IsAccepting(reentrant))
        {
            if (holdsPermit)
            {
                _permits.Release();
            }

            _registry.ReleaseLive();
            _lifecycle.ThrowIfNotAccepting(reentrant);
        }

        var sequence = Interlocked.Increment(ref _sequence);
        now = _timeProvider.GetUtcNow();
        var handle = factory(_dispatcher, options.Id, options, sequence, now, work);
        if (holdsPermit)
        {
            handle.TakePermit();
        }

        var startAt = options.NotBefore ?? (options.Delay is { } delay ? now + delay : now);
        handle.ReadyAt = startAt > now ? startAt : now;

        if (!_registry.TryAdd(handle, out existing))
        {
            handle.ReleasePermit();
            _registry.ReleaseLive();
            return handle;
        }

        _counters.CountAccepted();
        _timings.MeasureAccepted(handle);
        TaskTracing.TraceAccepted(handle, _dispatcherName);
        _notifier.OnTransition(handle, TaskState.Pending, TaskState.Pending, 0);
        handle.RegisterCancellation(options.CancellationToken);
        if (options.OverallTimeout is { } overall && overall != Timeout.InfiniteTimeSpan)
        {
            handle.SetOverallTimer(DueTimer.Start(_timeProvider, OnOverallTimeout, handle, handle.SubmittedAt + overall));
        }

        return handle;
    }

    /// <summary>Hands a registered task to the scheduler, or to a timer until its ready time.</summary>
    internal void Schedule(TaskHandle handle, DateTimeOffset now)
    {
        if (handle.IsFinished)
        {
            return;
        }

        if (handle.ReadyAt > now)
        {
            handle.SetReadyTimer(DueTimer.Start(_timeProvider, OnReadyTimer, handle, handle.ReadyAt));
        }
        else
        {
            _scheduler.PostReady(handle);
        }
    }

    /// <summary>The identity of a task's kind when <see cref="TaskOptions.Kind"/> is not given: the request type of a
    /// request task (one handler may serve several), the handler type of another handler task, the method of a delegate
    /// task.</summary>
    internal static object KindOf(object? work) => work switch
    {
        HandlerWork { RequestType: { } requestType } => requestType,
        HandlerWork handlerWork => handlerWork.HandlerType,
        Delegate function => function.Method,
        _ => string.Empty,
    };

    /// <summary>The input of a handler task, or <see langword="null"/> for a delegate task.</summary>
    internal static object? InputOf(object? work) => (work as HandlerWork)?.BoxedInput;

    internal THandle AsExisting<THandle>(TaskHandle existing)
        where THandle : TaskHandle =>
        existing as THandle ?? throw new InvalidOperationException(
            $"A task with id '{existing.Id}' exists on dispatcher '{_dispatcherName}' ({existing.State}) with another result type ({existing.GetType().Name}); ids must be unique among live tasks and, for {nameof(TaskDispatcherOptions.OutcomeRetention)}, ended ones.");
}
