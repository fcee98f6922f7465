using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>Runs attempts: one worker per node slot takes the tasks the scheduler hands its node, runs each attempt
/// (scope, timeout, heartbeat watchdog, node executor), measures it, and has <see cref="AttemptRecovery"/> carry out
/// what follows a failure. Owns the workers and the ambient slot that tells a task's own submissions apart.</summary>
internal sealed class AttemptRunner
{
    private static readonly TimerCallback s_onHeartbeatCheck = static state =>
    {
        var (runner, context) = ((AttemptRunner, TaskContext))state!;
        runner.CheckHeartbeat(context);
    };

    /// <summary>The slot of the worker on this logical flow. Set once per worker, so that an attempt changes no execution
    /// context; the slot names the attempt it runs, so that a task's own submissions skip the pending bound.</summary>
    private static readonly AsyncLocal<WorkerSlot?> s_workerSlot = new();

    private readonly string _dispatcherName;
    private readonly Scheduler _scheduler;
    private readonly AttemptRecovery _recovery;
    private readonly TaskTimings _timings;
    private readonly TaskCounters _counters;
    private readonly TaskPersistence? _persistence;
    private readonly IServiceProvider? _services;
    private readonly IServiceScopeFactory? _scopeFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    internal AttemptRunner(string dispatcherName, Scheduler scheduler, AttemptRecovery recovery, TaskTimings timings, TaskCounters counters, TaskPersistence? persistence, IServiceProvider? services, TimeProvider timeProvider, ILogger logger)
    {
        _persistence = persistence;
        _dispatcherName = dispatcherName;
        _scheduler = scheduler;
        _recovery = recovery;
        _timings = timings;
        _counters = counters;
        _services = services;
        _scopeFactory = services?.GetService<IServiceScopeFactory>();
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets whether handler tasks can be resolved: the dispatcher has a service provider.</summary>
    internal bool HasServices => _scopeFactory is not null;

    /// <summary>Gets the attempt running on the current logical flow, if it belongs to <paramref name="owner"/>.</summary>
    internal static TaskContext? CurrentAttemptOf(TaskDispatcher owner) =>
        s_workerSlot.Value?.Current is { } context && ReferenceEquals(context.Owner, owner) ? context : null;

    /// <summary>Starts one worker per slot of <paramref name="node"/>.</summary>
    internal void StartWorkers(NodeRuntime node)
    {
        // Workers must not inherit the caller's execution context (ambient activities, async-locals).
        using (ExecutionContext.SuppressFlow())
        {
            var workers = new Task[node.State.MaxConcurrency];
            var slots = new WorkerSlot[workers.Length];
            for (var i = 0; i < workers.Length; i++)
            {
                var slot = slots[i] = new WorkerSlot();
                workers[i] = Task.Run(() => RunWorkerAsync(node, slot));
            }

            node.Slots = slots;
            node.Workers = workers;
        }
    }

    /// <summary>One worker per slot: reads the node's hand-off channel and runs one attempt at a time.</summary>
    private async Task RunWorkerAsync(NodeRuntime node, WorkerSlot slot)
    {
        var reader = node.Queue.Reader;
        s_workerSlot.Value = slot;
        TaskHandle? handedBack = null;
        while (true)
        {
            var task = handedBack;
            handedBack = null;
            if (task is null && !reader.TryRead(out task))
            {
                // A step running on another thread may be about to hand this slot its next task: wait for it briefly
                // rather than go to sleep and pay for a thread-pool wake-up.
                var spinner = default(SpinWait);
                while (_scheduler.IsStepping && !spinner.NextSpinWillYield)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                }

                if (!reader.TryRead(out task))
                {
                    if (!await reader.WaitToReadAsync().ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }
            }

            // Read before the attempt starts: the task is placed again only after this attempt has ended.
            var placement = task.Placement;
            AttemptOutcome outcome = default;
            try
            {
                outcome = await RunAttemptAsync(task, node, slot).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // RunAttemptAsync contains the task's own failures; anything here is an engine defect. Never strand the task.
                Log.EngineFailed(_logger, _dispatcherName, exception);
                // From the attempt's state word: ends the task only if this attempt still owns it, whether or not the
                // attempt was already concluded when the defect struck.
                if (slot.Current is not { } context)
                {
                    task.TryFinish(TaskState.Failed, exception);
                }
                else
                {
                    context.TryConclude();
                    task.TryFinishAttempt(context, TaskState.Failed, exception);
                }
            }

            slot.Current = null;

            // Freeing the slot runs a scheduler step here when none is running, which hands this worker its next task.
            // A success is reported before the task is marked finished: the intake is FIFO, so a learning policy has the
            // duration before it sees any task its submitter sends after awaiting this one.
            handedBack = _scheduler.PostSlotFreed(task, node, outcome.SucceededAfter, placement);
            if (outcome.SucceededAfter is not null)
            {
                if (task.TryFinishAttempt(outcome.Context!, TaskState.Completed, null))
                {
                    if (task.FirstFailureTimestamp != 0)
                    {
                        _counters.CountRecovered(_timeProvider.GetElapsedTime(task.FirstFailureTimestamp));
                    }

                    task.ForgetCompletedContext(outcome.Context!);
                }
            }
            else if (outcome.RetryNow)
            {
                _scheduler.PostReady(task);
            }
        }
    }

    /// <summary>Runs one attempt and carries out the outcome.</summary>
    /// <returns>The attempt's context; whether the task should be queued again at once (after its slot is freed); and
    /// how long the attempt ran if it succeeded, in which case the caller marks the task completed.</returns>
#if !COYOTE // Coyote 1.7.11 rewrites pooling-builder methods into invalid IL; see eng/coyote-test.sh.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
#endif
    private async ValueTask<AttemptOutcome> RunAttemptAsync(TaskHandle task, NodeRuntime node, WorkerSlot slot)
    {
        if (task.IsCancellationRequested)
        {
            task.TryFinishStopped();
            return default;
        }

        // Everything the attempt needs is in place before it is announced Running, so whoever sees Running (a test on a
        // fake clock, a submitter waiting for room) sees the timeout armed and the pending permit returned. Only a
        // timeout needs a token source up front; otherwise the context creates one if the work asks for its token.
        // The task is Assigning and handed to this worker alone, so no other attempt can start meanwhile.
        var context = new TaskContext(task, task.Attempts + 1, node);
        var timeout = task.Options.Timeout;
        context.Start(timeout is { } limit && limit != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(limit, _timeProvider) : null);
        task.SetContext(context);
        task.ReleasePermit();
        if (!task.TryStartRunning(context))
        {
            // Forced to a terminal state by a stop after it was handed to this node.
            context.End();
            return default;
        }

        var attempt = task.BeginAttempt();
        if (attempt == 1)
        {
            task.MarkStarted(_timeProvider.GetUtcNow());
        }

        slot.RecordStart();
        context.IsProbe = node.State.ProbePlacement == task.Placement;

        // Measured and traced before the attempt is published: whoever concludes it from then on ends its activity. The
        // start's one clock read serves the waiting time and the processing time.
        var startedAt = _timeProvider.GetTimestamp();
        _timings.MeasureAttemptStarted(task, node.Name, attempt, startedAt);
        TaskTracing.TraceAttemptStarted(task, context);
        if (task.LastFailureTimestamp != 0)
        {
            _counters.CountRestartDelay(_timeProvider.GetElapsedTime(task.LastFailureTimestamp));
        }

        slot.Current = context;

        // A node marked unavailable gives up the attempts in its slots. Publishing ours (full fence) before reading the
        // health pairs with SetNodeHealth, which writes the health (full fence) before reading the slots: one of us sees
        // the other, so an attempt starting as its node fails is given up too, by whichever side gets there first.
        Interlocked.MemoryBarrier();
        if (node.RequestedHealth == NodeHealth.Unavailable)
        {
            _recovery.AbandonAttempt(context, new NodeFailureException($"Node '{node.Name}' was marked unavailable as task '{task.Id}' attempt {attempt} started on it.") { NodeName = node.Name });
            context.End();
            return default;
        }

        if (task.Options.HeartbeatTimeout is { } heartbeatTimeout)
        {
            context.Watchdog = _timeProvider.CreateTimer(s_onHeartbeatCheck, (this, context), heartbeatTimeout, Timeout.InfiniteTimeSpan);
        }

        Exception? error = null;
        AsyncServiceScope scope = default;
        var hasScope = false;
        try
        {
            if (task.RequiresScope)
            {
                try
                {
                    scope = _scopeFactory!.CreateAsyncScope();
                }
                catch (ObjectDisposedException)
                {
                    // The container is being disposed (it disposes itself before its singletons, this dispatcher among
                    // them): the handler can no longer be resolved, which is a shutdown, not a failure of the task.
                    task.StoppedForShutdown = true;
                    task.Cancel();
                    if (context.TryConclude())
                    {
                        TaskTracing.TraceAttemptEnded(context, "cancelled", null, null);
                        task.TryFinishAttempt(context, TaskState.Cancelled, null);
                    }

                    return default;
                }

                hasScope = true;
                context.Services = scope.ServiceProvider;
            }
            else
            {
                context.Services = _services;
            }

            if (_persistence is not null)
            {
                // The start is on disk before the work runs: a restart then counts every attempt that may have run.
                await _persistence.AttemptStartedAsync(task, attempt, node.Name, _timeProvider.GetUtcNow(), context.CancellationToken).ConfigureAwait(false);
            }

            // The work's own log lines carry the task and attempt (a scope of the logger factory both share); with no
            // logging configured this costs one check.
            using (_logger.IsEnabled(LogLevel.Critical) ? _logger.BeginScope(new TaskLogScope(task, attempt, node.Name)) : null)
            {
                await InvokeAsync(task, context, node).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            error = exception;
        }
        finally
        {
            if (hasScope)
            {
                try
                {
                    await scope.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    error ??= exception;
                }
            }

            context.End();
        }

        var processingTime = _timeProvider.GetElapsedTime(startedAt);
        slot.RecordBusy(processingTime);
        _timings.MeasureAttemptEnded(node.Name, processingTime, error is null);
        if (!context.TryConclude())
        {
            // The engine gave the attempt up while it ran (its node failed or it stopped heartbeating) and has moved the
            // task on: whatever this attempt produced is void.
            return default;
        }

        if (error is null)
        {
            // The caller marks the task Completed once it has reported the duration.
            node.Breaker?.OnAttemptEnded(null, context.IsProbe);
            TaskTracing.TraceAttemptEnded(context, "completed", null, null);
            return new AttemptOutcome(context, false, processingTime);
        }

        if (task.IsCancellationRequested)
        {
            // Stopped tasks are never retried; whatever the attempt threw while stopping is the stop's doing.
            var (state, stopError) = task.StopOutcome();
            if (stopError is not null)
            {
                task.RecordFailure(new AttemptFailure(attempt, node.Name, stopError, _timeProvider.GetUtcNow(), isNodeFault: false));
            }

            TaskTracing.TraceAttemptEnded(context, TaskDispatchMetrics.OutcomeName(state), stopError, null);
            task.TryFinishAttempt(context, state, stopError);
            return default;
        }

        if (context.HasTimedOut && error is OperationCanceledException)
        {
            error = new TaskTimeoutException($"Task '{task.Id}' attempt {attempt} exceeded its timeout of {timeout}.", error);
        }

        node.Breaker?.OnAttemptEnded(error, context.IsProbe);
        return new AttemptOutcome(context, _recovery.ConcludeFailure(context, error), null);
    }

    private void CheckHeartbeat(TaskContext context)
    {
        if (context.IsConcluded || context.Options.HeartbeatTimeout is not { } limit)
        {
            return;
        }

        var silent = _timeProvider.GetElapsedTime(context.LastHeartbeat);
        if (silent >= limit)
        {
            _recovery.AbandonAttempt(context, new NodeFailureException(
                $"Task '{context.TaskId}' attempt {context.Attempt} on node '{context.NodeName}' sent no heartbeat for {silent}, past its limit of {limit}.")
            {
                NodeName = context.NodeName,
            });
            return;
        }

        try
        {
            context.Watchdog?.Change(limit - silent, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
        }
    }

    /// <summary>Runs the work, or hands it to the node's executor.</summary>
    private static ValueTask InvokeAsync(TaskHandle task, TaskContext context, NodeRuntime node) =>
        node.Executor is { } executor
            ? executor.ExecuteAsync(new NodeAttempt(task, context, node.State.ToSnapshot()))
            : task.RunAsync(context);

    /// <summary>What became of an attempt, for the worker that ran it.</summary>
    private readonly record struct AttemptOutcome(TaskContext? Context, bool RetryNow, TimeSpan? SucceededAfter);
}
