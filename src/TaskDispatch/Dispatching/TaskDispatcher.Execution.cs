using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    private static readonly TimerCallback s_onHeartbeatCheck = static state =>
    {
        var context = (TaskContext)state!;
        context.Owner.CheckHeartbeat(context);
    };

    /// <summary>One worker per slot: reads the node's hand-off channel and runs one attempt at a time.</summary>
    private async Task RunWorkerAsync(NodeRuntime node, WorkerSlot slot)
    {
        var reader = node.Queue.Reader;
        s_workerSlot.Value = slot;
        while (true)
        {
            if (!reader.TryRead(out var task))
            {
                // A step running on another thread may be about to hand this slot its next task: wait for it briefly
                // rather than go to sleep and pay for a thread-pool wake-up.
                var spinner = default(SpinWait);
                while (Volatile.Read(ref _stepping) != 0 && !spinner.NextSpinWillYield)
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
                Log.EngineFailed(_logger, Name, exception);
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
            Post(SchedulerEvent.SlotFreed(task, node, outcome.SucceededAfter, placement));
            if (outcome.SucceededAfter is not null)
            {
                if (task.TryFinishAttempt(outcome.Context!, TaskState.Completed, null) && task.FirstFailureTimestamp != 0)
                {
                    CountRecovered(task);
                }
            }
            else if (outcome.RetryNow)
            {
                PostReady(task);
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
        context.Start(timeout is { } limit && limit != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(limit, TimeProvider) : null);
        task.SetContext(context);
        task.ReleasePermit();
        if (!task.TryStartRunning(context))
        {
            // Forced to a terminal state by a stop after it was handed to this node.
            context.End();
            return default;
        }

        var attempt = task.BeginAttempt();
        node.RecordStart();
        context.IsProbe = node.Snapshot.ProbePlacement == task.Placement;

        // Measured and traced before the attempt is published: whoever concludes it from then on ends its activity. The
        // start's one clock read serves the waiting time and the processing time.
        var startedAt = TimeProvider.GetTimestamp();
        MeasureAttemptStarted(task, node, attempt, startedAt);
        TraceAttemptStarted(task, context);
        if (task.LastFailureTimestamp != 0)
        {
            CountRestartDelay(task);
        }

        slot.Current = context;

        // A node marked unavailable gives up the attempts in its slots. Publishing ours (full fence) before reading the
        // health pairs with SetNodeHealth, which writes the health (full fence) before reading the slots: one of us sees
        // the other, so an attempt starting as its node fails is given up too, by whichever side gets there first.
        Interlocked.MemoryBarrier();
        if (node.RequestedHealth == NodeHealth.Unavailable)
        {
            AbandonAttempt(context, new NodeFailureException($"Node '{node.Name}' was marked unavailable as task '{task.Id}' attempt {attempt} started on it.") { NodeName = node.Name });
            context.End();
            return default;
        }

        if (task.Options.HeartbeatTimeout is { } heartbeatTimeout)
        {
            context.Watchdog = TimeProvider.CreateTimer(s_onHeartbeatCheck, context, heartbeatTimeout, Timeout.InfiniteTimeSpan);
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
                    task.Cancel();
                    if (context.TryConclude())
                    {
                        TraceAttemptEnded(context, "cancelled", null, null);
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

            await InvokeAsync(task, context, node).ConfigureAwait(false);
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

        var processingTime = TimeProvider.GetElapsedTime(startedAt);
        node.RecordBusy(processingTime);
        MeasureAttemptEnded(node, processingTime, error is null);
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
            TraceAttemptEnded(context, "completed", null, null);
            return new AttemptOutcome(context, false, processingTime);
        }

        if (task.IsCancellationRequested)
        {
            // Stopped tasks are never retried; whatever the attempt threw while stopping is the stop's doing.
            var (state, stopError) = task.StopOutcome();
            if (stopError is not null)
            {
                task.RecordFailure(new AttemptFailure(attempt, node.Name, stopError, TimeProvider.GetUtcNow(), isNodeFault: false));
            }

            TraceAttemptEnded(context, TaskDispatchMetrics.OutcomeName(state), stopError, null);
            task.TryFinishAttempt(context, state, stopError);
            return default;
        }

        if (context.HasTimedOut && error is OperationCanceledException)
        {
            error = new TimeoutException($"Task '{task.Id}' attempt {attempt} exceeded its timeout of {timeout}.", error);
        }

        node.Breaker?.OnAttemptEnded(error, context.IsProbe);
        return new AttemptOutcome(context, ConcludeFailure(context, error), null);
    }

    /// <summary>Gives up a running attempt whose node failed: its token is cancelled, its outcome will be ignored, and
    /// the task is recovered at once as after a node fault, while the attempt may still hold its slot.</summary>
    internal void AbandonAttempt(TaskContext context, NodeFailureException error)
    {
        if (!context.TryConclude())
        {
            return;
        }

        context.Abandon();
        CountAbandoned(context.Node);
        Log.AttemptAbandoned(_logger, context.TaskId, context.Attempt, context.NodeName, error.Message);
        context.Node.Breaker?.OnAttemptEnded(error, context.IsProbe);
        if (context.Handle.IsCancellationRequested)
        {
            var (state, stopError) = context.Handle.StopOutcome();
            TraceAttemptEnded(context, "abandoned", error, null);
            context.Handle.TryFinishAttempt(context, state, stopError);
            return;
        }

        if (ConcludeFailure(context, error))
        {
            PostReady(context.Handle);
        }
    }

    private void CheckHeartbeat(TaskContext context)
    {
        if (context.IsConcluded || context.Options.HeartbeatTimeout is not { } limit)
        {
            return;
        }

        var silent = TimeProvider.GetElapsedTime(context.LastHeartbeat);
        if (silent >= limit)
        {
            AbandonAttempt(context, new NodeFailureException(
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

    /// <summary>Records a failed attempt, asks the recovery policy, and ends the task or moves it to Retrying.</summary>
    /// <returns>Whether the task should be queued again at once.</returns>
    private bool ConcludeFailure(TaskContext context, Exception error)
    {
        var task = context.Handle;
        var node = context.Node;
        var attempt = context.Attempt;
        var failedAt = TimeProvider.GetUtcNow();
        var isNodeFault = NodeFailureException.IsNodeFault(error);
        task.RecordFailure(new AttemptFailure(attempt, node.Name, error, failedAt, isNodeFault));
        CountAttemptFailure(node, error, isNodeFault);

        var decision = RecoveryDecision.GiveUp;
        try
        {
            decision = _recovery.Decide(new RecoveryContext(task, attempt, error, node.Name, failedAt, isNodeFault, task.NodeFaults));
        }
        catch (Exception exception)
        {
            Log.RecoveryPolicyFailed(_logger, task.Id, exception);
        }

        if (decision.ShouldRetry && task.Options.MaxAttempts is { } maxAttempts && attempt >= maxAttempts)
        {
            decision = RecoveryDecision.GiveUp;
        }

        Log.AttemptFailed(_logger, task.Id, attempt, node.Name, decision.ShouldRetry, decision.Delay, error);
        if (context.Activity is not null)
        {
            TraceAttemptEnded(
                context,
                context.IsAbandoned ? "abandoned" : "failed",
                error,
                !decision.ShouldRetry ? "give up" : isNodeFault ? $"fail over to another node after {decision.Delay}" : $"retry after {decision.Delay}");
        }

        if (!decision.ShouldRetry)
        {
            if (task.TryFinishAttempt(context, TaskState.Failed, error))
            {
                Log.TaskFailed(_logger, task.Id, attempt, error);
            }

            return false;
        }

        if (isNodeFault && Array.IndexOf(task.ExcludedNodes ?? [], node) < 0)
        {
            task.ExcludedNodes = [.. task.ExcludedNodes ?? [], node];
        }

        if (!task.TryRetryAttempt(context))
        {
            return false;
        }

        CountRestart(error, isNodeFault);

        // A stop that came while the policy decided found the task Running and at most cancelled a token. It set the
        // flag before reading the state; we changed the state before reading the flag: one of us ends the task.
        if (task.IsCancellationRequested)
        {
            task.TryFinishStopped();
            return false;
        }

        if (decision.Delay > TimeSpan.Zero)
        {
            // The retry is due at failure time + delay, however long it took to get here; a custom policy may ask for
            // more than a timer can wait, and then waits the longest a timer can.
            var delay = decision.Delay > TaskDispatcherDefaults.MaxDelay ? TaskDispatcherDefaults.MaxDelay : decision.Delay;
            var remaining = failedAt + delay - TimeProvider.GetUtcNow();
            task.SetReadyTimer(TimeProvider.CreateTimer(s_onReadyTimer, task, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
            return false;
        }

        return true;
    }

    /// <summary>Runs the work, or hands it to the node's executor.</summary>
    private static ValueTask InvokeAsync(TaskHandle task, TaskContext context, NodeRuntime node) =>
        node.Executor is { } executor
            ? executor.ExecuteAsync(new NodeAttempt(task, context, node.Snapshot))
            : task.RunAsync(context);

    /// <summary>What became of an attempt, for the worker that ran it.</summary>
    private readonly record struct AttemptOutcome(TaskContext? Context, bool RetryNow, TimeSpan? SucceededAfter);
}
