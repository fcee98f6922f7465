using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    /// <summary>One worker per slot: reads the node's hand-off channel and runs one attempt at a time.</summary>
    private async Task RunWorkerAsync(NodeRuntime node)
    {
        var reader = node.Queue.Reader;
        var slot = new WorkerSlot();
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

            var retryNow = false;
            TimeSpan? succeededAfter = null;
            try
            {
                (retryNow, succeededAfter) = await RunAttemptAsync(task, node, slot).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // RunAttemptAsync contains the task's own failures; anything here is an engine defect. Never strand the task.
                Log.EngineFailed(_logger, Name, exception);
                task.TryFinish(TaskState.Failed, exception);
            }

            // Freeing the slot runs a scheduler step here when none is running, which hands this worker its next task.
            // A success is reported before the task is marked finished: the intake is FIFO, so a learning policy has the
            // duration before it sees any task its submitter sends after awaiting this one.
            Post(SchedulerEvent.SlotFreed(task, node, succeededAfter));
            if (succeededAfter is not null)
            {
                task.TryFinish(TaskState.Completed, null);
            }
            else if (retryNow)
            {
                PostReady(task);
            }
        }
    }

    /// <summary>Runs one attempt and carries out the outcome.</summary>
    /// <returns>Whether the task should be queued again at once (after its slot is freed), and how long the attempt ran
    /// if it succeeded.</returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(bool RetryNow, TimeSpan? SucceededAfter)> RunAttemptAsync(TaskHandle task, NodeRuntime node, WorkerSlot slot)
    {
        if (task.IsCancellationRequested)
        {
            task.TryFinish(TaskState.Cancelled, null);
            return (false, null);
        }

        // Everything the attempt needs is in place before it is announced Running, so whoever sees Running (a test on a
        // fake clock, a submitter waiting for room) sees the timeout armed and the pending permit returned.
        // Only a timeout needs a token source up front; otherwise the context creates one if the work asks for its token.
        var timeout = task.Options.Timeout;
        var cancellation = timeout is { } limit && limit != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(limit, TimeProvider) : null;
        task.SetAttemptCancellation(cancellation);
        task.ReleasePermit();
        if (!task.TryTransition(TaskState.Assigning, TaskState.Running))
        {
            // Forced to a terminal state by a stop after it was handed to this node.
            task.SetAttemptCancellation(null);
            cancellation?.Dispose();
            return (false, null);
        }

        var attempt = task.BeginAttempt();
        node.RecordStart();
        var context = task.Context ??= new TaskContext(task);
        context.Attempt = attempt;
        context.NodeName = node.Name;

        Exception? error = null;
        var startedAt = TimeProvider.GetTimestamp();
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
                    task.TryFinish(TaskState.Cancelled, null);
                    return (false, null);
                }

                hasScope = true;
                context.Services = scope.ServiceProvider;
            }
            else
            {
                context.Services = _services;
            }

            await InvokeAsync(task, context, slot, node).ConfigureAwait(false);
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

            task.SetAttemptCancellation(null);

            // Stops the timeout timer; plain sources hold nothing worth releasing.
            cancellation?.Dispose();
        }

        var processingTime = TimeProvider.GetElapsedTime(startedAt);
        node.RecordBusy(processingTime);
        if (error is null)
        {
            // The caller marks the task Completed once it has reported the duration.
            return (false, processingTime);
        }

        if (task.IsCancellationRequested)
        {
            // Cancelled tasks are never retried; whatever the attempt threw while stopping is the cancellation's doing.
            task.TryFinish(TaskState.Cancelled, null);
            return (false, null);
        }

        if (cancellation is { IsCancellationRequested: true } && error is OperationCanceledException)
        {
            error = new TimeoutException($"Task '{task.Id}' attempt {attempt} exceeded its timeout of {timeout}.", error);
        }

        return (HandleFailure(task, node, attempt, error), null);
    }

    private bool HandleFailure(TaskHandle task, NodeRuntime node, int attempt, Exception error)
    {
        var decision = RecoveryDecision.GiveUp;
        var failedAt = TimeProvider.GetUtcNow();
        try
        {
            decision = _recovery.Decide(new RecoveryContext(task, attempt, error, node.Name, failedAt));
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
        if (!decision.ShouldRetry)
        {
            if (task.TryFinish(TaskState.Failed, error))
            {
                Log.TaskFailed(_logger, task.Id, attempt, error);
            }

            return false;
        }

        if (!task.TryTransition(TaskState.Running, TaskState.Retrying))
        {
            return false;
        }

        // A cancellation that came while the policy decided found the task Running with no attempt to cancel. It set
        // the flag before reading the state; we changed the state before reading the flag: one of us ends the task.
        if (task.IsCancellationRequested)
        {
            task.TryFinish(TaskState.Cancelled, null);
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

    /// <summary>Runs the work with its context named in the worker's slot, so that its submissions are recognised as its own.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask InvokeAsync(TaskHandle task, TaskContext context, WorkerSlot slot, NodeRuntime node)
    {
        slot.Current = context;
        try
        {
            if (node.Executor is { } executor)
            {
                await executor.ExecuteAsync(new NodeAttempt(task, context, node.Snapshot)).ConfigureAwait(false);
            }
            else
            {
                await task.RunAsync(context).ConfigureAwait(false);
            }
        }
        finally
        {
            slot.Current = null;
        }
    }

    /// <summary>What a worker is running; flows with the execution context into the work and whatever it starts.</summary>
    private sealed class WorkerSlot
    {
        /// <summary>The running attempt's context. Work that outlives its attempt sees the next one or none, both of
        /// which are safe for the pending bound: it only matters that the named task is live when checked.</summary>
        public volatile TaskContext? Current;
    }
}
