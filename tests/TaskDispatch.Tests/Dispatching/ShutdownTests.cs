using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class ShutdownTests
{
    [Test]
    public async Task StopAsync_DrainWithFullQueue_RunsEveryAcceptedTaskToCompletion()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var ran = new ConcurrentQueue<int>();
        var queued = new List<TaskHandle<int>>();
        for (var i = 0; i < 5; i++)
        {
            var value = i;
            queued.Add(await dispatcher.SubmitAsync(_ =>
            {
                ran.Enqueue(value);
                return ValueTask.FromResult(value);
            }));
        }

        var stop = dispatcher.StopAsync(ShutdownMode.Drain);
        Assert.That(stop.IsCompleted, Is.False, "the blocker still runs");

        blocker.Release();
        await stop.WaitAsync(TestTimeouts.Generous);

        Assert.That(blocker.Handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(queued.Select(static h => h.State), Is.All.EqualTo(TaskState.Completed));
        Assert.That(queued.Select(static h => h.Completion.IsCompletedSuccessfully), Is.All.True);
        Assert.That(ran, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task StopAsync_CancelWithFullQueue_CancelsQueuedAndSignalsRunning()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var started = new Signal();
        var runningSawCancellation = false;
        var running = await dispatcher.SubmitAsync(async context =>
        {
            started.Set();
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                runningSawCancellation = true;
                throw;
            }
        });
        await started.WaitAsync();
        var queuedRan = 0;
        var queued = new List<TaskHandle>();
        for (var i = 0; i < 5; i++)
        {
            queued.Add(await dispatcher.SubmitAsync(_ =>
            {
                Interlocked.Increment(ref queuedRan);
                return ValueTask.CompletedTask;
            }));
        }

        await dispatcher.StopAsync(ShutdownMode.Cancel).WaitAsync(TestTimeouts.Generous);

        Assert.That(runningSawCancellation, Is.True);
        Assert.That(running.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(queued.Select(static h => h.State), Is.All.EqualTo(TaskState.Cancelled));
        Assert.That(queuedRan, Is.Zero);
        Assert.That(queued.Append(running).Select(static h => h.Completion.IsCanceled), Is.All.True);
        await Assert.CatchAsync<OperationCanceledException>(async () => await running);
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task StopAsync_CancelWithDelayedAndRetryingTasks_CancelsThemAtOnce()
    {
        var fake = new FakeTimeProvider();
        var observer = new RecordingObserver();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .UseRecovery(new FixedDelayRetryPolicy(TimeSpan.FromMinutes(5)))
            .AddObserver(observer)
            .Build();
        var delayed = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Delay = TimeSpan.FromHours(1) });
        var retrying = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("transient"), new TaskOptions { MaxRetryAttempts = 1 });
        await TestTimeouts.WaitUntilAsync(() => retrying.State == TaskState.Retrying, "the failing task waits to retry");

        // No clock advance: the stop must not wait for the delay or the retry timer.
        await dispatcher.StopAsync(ShutdownMode.Cancel, Timeout.InfiniteTimeSpan).WaitAsync(TestTimeouts.Generous);

        Assert.That(delayed.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(retrying.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(retrying.Attempts, Is.EqualTo(1));
        Assert.That(observer.Completions[delayed.Id], Is.EqualTo(1));
        Assert.That(observer.Completions[retrying.Id], Is.EqualTo(1));
    }

    /// <summary>
    /// A Cancel stop that reaches a task while the recovery policy decides (attempt over, task still Running) must
    /// still end it at once: the task is about to wait for a retry, and Cancel ends waiting tasks immediately.
    /// </summary>
    [Test]
    public async Task StopAsync_CancelWhileRecoveryPolicyDecidesDelayedRetry_EndsTaskCancelledWithoutWaitingForRetry()
    {
        var fake = new FakeTimeProvider();
        using var policy = new GatedRecoveryPolicy(TimeSpan.FromMinutes(10));
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .UseRecovery(policy)
            .Build();
        var handle = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("attempt failed"));
        await policy.Deciding.WaitAsync();

        var stop = dispatcher.StopAsync(ShutdownMode.Cancel, Timeout.InfiniteTimeSpan);
        policy.Proceed();
        try
        {
            // The slot is freed only after the worker has carried out the policy's decision.
            await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].ActiveTasks == 0, "the failed attempt's slot is freed");

            Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled), "StopAsync(Cancel) leaves the task waiting 10 (fake) minutes for a retry");
            await stop.WaitAsync(TestTimeouts.Generous);
        }
        finally
        {
            // Let a retry left waiting run into its cancellation, so that disposing the dispatcher cannot hang.
            fake.Advance(TimeSpan.FromMinutes(10));
        }

        await stop.WaitAsync(TestTimeouts.Generous);
        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task StopAsync_CancelWithTaskIgnoringToken_ForcesCancelledAtDeadlineAndReturns()
    {
        var fake = new FakeTimeProvider();
        var release = new Signal();
        var observer = new RecordingObserver();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .AddObserver(observer)
            .Build();
        try
        {
            var started = new Signal();
            var tokenCancelled = new Signal();
            var stubborn = await dispatcher.SubmitAsync(async context =>
            {
                using var registration = context.CancellationToken.Register(tokenCancelled.Set);
                started.Set();
                await release.WaitAsync();
            });
            await started.WaitAsync();
            var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

            var stop = dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.FromSeconds(5));

            await tokenCancelled.WaitAsync();
            await Assert.CatchAsync<OperationCanceledException>(async () => await queued);
            Assert.That(queued.State, Is.EqualTo(TaskState.Cancelled));
            Assert.That(stubborn.State, Is.EqualTo(TaskState.Running), "the work ignores its token");
            Assert.That(stop.IsCompleted, Is.False, "no time has passed on the dispatcher's clock");

            await TestTimeouts.WaitUntilAsync(
                () =>
                {
                    if (!stop.IsCompleted)
                    {
                        fake.Advance(TimeSpan.FromSeconds(1));
                    }

                    return stop.IsCompleted;
                },
                "the stop deadline passes");
            await stop;

            Assert.That(fake.GetUtcNow() - stubborn.SubmittedAt, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(stubborn.State, Is.EqualTo(TaskState.Cancelled));
            await Assert.CatchAsync<OperationCanceledException>(async () => await stubborn);
            Assert.That(observer.Completions[stubborn.Id], Is.EqualTo(1));
            Assert.That(dispatcher.LiveTaskCount, Is.Zero);
        }
        finally
        {
            release.Set();
        }
    }

    [Test]
    public async Task StopAsync_DrainPastDeadline_ForcesCancelledAndReturns()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        try
        {
            var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

            // A real, short deadline: the blocker is never released before it passes.
            await dispatcher.StopAsync(ShutdownMode.Drain, TimeSpan.FromMilliseconds(50)).WaitAsync(TestTimeouts.Generous);

            Assert.That(blocker.Handle.State, Is.EqualTo(TaskState.Cancelled));
            Assert.That(queued.State, Is.EqualTo(TaskState.Cancelled));
            Assert.That(dispatcher.LiveTaskCount, Is.Zero);
        }
        finally
        {
            blocker.Release();
        }
    }

    [Test]
    public async Task SubmitAsync_DuringDrainFromOutside_ThrowsInvalidOperation()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var stop = dispatcher.StopAsync(ShutdownMode.Drain);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(() => dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Throws.InvalidOperationException);
        Assert.That(stop.IsCompleted, Is.False);

        blocker.Release();
        await stop.WaitAsync(TestTimeouts.Generous);
        Assert.That(blocker.Handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task SubmitAsync_FromRunningTaskDuringDrain_AcceptsChildAndItCompletes()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var parentStarted = new Signal();
        var submitChild = new Signal();
        var childRan = new Signal();

        var parent = await dispatcher.SubmitAsync(async context =>
        {
            parentStarted.Set();
            await submitChild.WaitAsync();
            return await context.Dispatcher.SubmitAsync(_ =>
            {
                childRan.Set();
                return ValueTask.FromResult(42);
            });
        });
        await parentStarted.WaitAsync();

        var stop = dispatcher.StopAsync(ShutdownMode.Drain);
        submitChild.Set();
        var child = await parent;
        await stop.WaitAsync(TestTimeouts.Generous);

        Assert.That(parent.State, Is.EqualTo(TaskState.Completed));
        Assert.That(childRan.IsSet, Is.True, "the drain waited for the child");
        Assert.That(child.State, Is.EqualTo(TaskState.Completed));
        Assert.That(await child, Is.EqualTo(42));
    }

    [Test]
    public async Task SubmitAsync_AfterStop_ThrowsObjectDisposed()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        await dispatcher.StopAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1)));
        Assert.That(() => dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public async Task StopAsync_SubmittersWaitingForRoom_ReleasedWithInvalidOperation()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 1);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        var ran = 0;
        Func<TaskContext, ValueTask> work = _ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        };
        var waiting1 = dispatcher.SubmitAsync(work);
        var waiting2 = dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));
        Assert.That(waiting1.IsCompleted, Is.False);
        Assert.That(waiting2.IsCompleted, Is.False);
        var waitingTask1 = waiting1.AsTask();
        var waitingTask2 = waiting2.AsTask();

        var stop = dispatcher.StopAsync(ShutdownMode.Drain);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await waitingTask1.WaitAsync(TestTimeouts.Generous));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await waitingTask2.WaitAsync(TestTimeouts.Generous));
        Assert.That(stop.IsCompleted, Is.False, "the blocker still runs");

        blocker.Release();
        await stop.WaitAsync(TestTimeouts.Generous);
        Assert.That(queued.State, Is.EqualTo(TaskState.Completed));
        Assert.That(ran, Is.Zero);
    }

    [Test]
    public async Task StopAsync_CalledTwice_ReturnsSameTask()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);

        var first = dispatcher.StopAsync(ShutdownMode.Drain);
        var second = dispatcher.StopAsync(ShutdownMode.Drain);

        Assert.That(second, Is.SameAs(first));
        blocker.Release();
        await first.WaitAsync(TestTimeouts.Generous);
        Assert.That(dispatcher.StopAsync(ShutdownMode.Cancel), Is.SameAs(first));
    }

    [Test]
    public async Task StopAsync_CancelWhileDraining_EscalatesAndCancelsRunningWork()
    {
        await using var dispatcher = BuildSingleSlot(maxPending: 5);
        var started = new Signal();
        var running = await dispatcher.SubmitAsync(async context =>
        {
            started.Set();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        });
        await started.WaitAsync();
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        var drain = dispatcher.StopAsync(ShutdownMode.Drain, Timeout.InfiniteTimeSpan);
        Assert.That(drain.IsCompleted, Is.False);
        var escalated = dispatcher.StopAsync(ShutdownMode.Cancel);

        Assert.That(escalated, Is.SameAs(drain));
        await drain.WaitAsync(TestTimeouts.Generous);
        Assert.That(running.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(queued.State, Is.EqualTo(TaskState.Cancelled));
    }

    [Test]
    public async Task DisposeAsync_AfterStopAsync_Succeeds()
    {
        var dispatcher = BuildSingleSlot(maxPending: 5);
        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));
        var stop = dispatcher.StopAsync();
        await stop.WaitAsync(TestTimeouts.Generous);

        await dispatcher.DisposeAsync();
        await dispatcher.DisposeAsync();
        dispatcher.Dispose();

        Assert.That(stop.IsCompletedSuccessfully, Is.True);
        Assert.That(await handle, Is.EqualTo(1));
        Assert.That(dispatcher.StopAsync(), Is.SameAs(stop));
    }

    [Test]
    public async Task StopAsync_Idle_CompletesAndEveryHandleIsComplete()
    {
        var dispatcher = BuildSingleSlot(maxPending: 5);
        var handles = new List<TaskHandle>();
        for (var i = 0; i < 3; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        }

        await dispatcher.DisposeAsync();

        Assert.That(handles.Select(static h => h.Completion.IsCompletedSuccessfully), Is.All.True);
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    private static TaskDispatcher BuildSingleSlot(int maxPending) =>
        new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .Configure(o => o.MaxPendingTasks = maxPending)
            .Build();

    private sealed class FixedDelayRetryPolicy(TimeSpan delay) : IRecoveryPolicy
    {
        public RecoveryDecision Decide(in RecoveryContext context) => RecoveryDecision.Retry(delay);
    }
}
