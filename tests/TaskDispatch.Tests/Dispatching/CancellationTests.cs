using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class CancellationTests
{
    [Test]
    public async Task Cancel_PendingTask_EndsCancelledAndWorkNeverRuns()
    {
        await using var dispatcher = BuildSingleSlot();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var ran = 0;

        var handle = await dispatcher.SubmitAsync(_ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        });
        Assert.That(handle.State, Is.EqualTo(TaskState.Pending));

        Assert.That(handle.Cancel(), Is.True);

        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(handle.IsFinished, Is.True);
        await Assert.CatchAsync<OperationCanceledException>(async () => await handle);

        // The queue moves on; had the cancelled task been dispatched it would have run before this one (FCFS, one slot).
        await blocker.ReleaseAndWaitAsync();
        var next = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        await next;
        Assert.That(ran, Is.Zero);
        Assert.That(handle.Attempts, Is.Zero);
    }

    [Test]
    public async Task Cancel_OptionsTokenWhilePending_EndsCancelledWithThatToken()
    {
        await using var dispatcher = BuildSingleSlot();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        using var cts = new CancellationTokenSource();
        var ran = 0;

        var handle = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref ran);
                return ValueTask.CompletedTask;
            },
            new TaskOptions { CancellationToken = cts.Token });
        Assert.That(handle.State, Is.EqualTo(TaskState.Pending));

        await cts.CancelAsync();

        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        var thrown = await Assert.CatchAsync<OperationCanceledException>(async () => await handle);
        Assert.That(thrown!.CancellationToken, Is.EqualTo(cts.Token));

        await blocker.ReleaseAndWaitAsync();
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(ran, Is.Zero);
    }

    [Test]
    public async Task Cancel_OptionsTokenWhileRunning_WorkSeesTokenAndTaskEndsCancelled()
    {
        await using var dispatcher = BuildSingleSlot();
        using var cts = new CancellationTokenSource();
        var started = new Signal();

        var handle = await dispatcher.SubmitAsync(
            async context =>
            {
                started.Set();
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            },
            new TaskOptions { CancellationToken = cts.Token });
        await started.WaitAsync();
        Assert.That(handle.State, Is.EqualTo(TaskState.Running));

        await cts.CancelAsync();

        await Assert.CatchAsync<OperationCanceledException>(async () => await handle);
        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(handle.Exception, Is.Null);
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task Cancel_RunningTaskObservingToken_EndsCancelled()
    {
        await using var dispatcher = BuildSingleSlot();
        var started = new Signal();

        var handle = await dispatcher.SubmitAsync<int>(async context =>
        {
            started.Set();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return 1;
        });
        await started.WaitAsync();

        Assert.That(handle.Cancel(), Is.True);

        await Assert.CatchAsync<OperationCanceledException>(async () => await handle);
        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(handle.Completion.IsCanceled, Is.True);
    }

    [Test]
    public async Task Cancel_RunningTaskIgnoringToken_CompletesNormally()
    {
        await using var dispatcher = BuildSingleSlot();
        var started = new Signal();
        var proceed = new Signal();
        var token = CancellationToken.None;

        var handle = await dispatcher.SubmitAsync<int>(async context =>
        {
            token = context.CancellationToken;
            started.Set();
            await proceed.WaitAsync();
            return 7;
        });
        await started.WaitAsync();

        Assert.That(handle.Cancel(), Is.True);
        Assert.That(token.IsCancellationRequested, Is.True, "the running attempt's token is cancelled at once");
        Assert.That(handle.State, Is.EqualTo(TaskState.Running));

        proceed.Set();

        Assert.That(await handle, Is.EqualTo(7));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Cancel(), Is.False);
    }

    [Test]
    public async Task Cancel_ById_CancelsLiveTaskAndIgnoresUnknownId()
    {
        await using var dispatcher = BuildSingleSlot();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var given = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Id = "report-1" });
        var generated = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        Assert.That(dispatcher.Cancel("report-1"), Is.True);
        Assert.That(dispatcher.Cancel(generated.Id), Is.True);
        Assert.That(dispatcher.Cancel("no-such-task"), Is.False);

        Assert.That(given.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(generated.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(dispatcher.Cancel("report-1"), Is.False, "a finished task is no longer live");
        await blocker.ReleaseAndWaitAsync();
    }

    [Test]
    public async Task Cancel_FinishedTask_ReturnsFalseAndKeepsOutcome()
    {
        await using var dispatcher = BuildSingleSlot();
        var completed = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(3));
        await completed;
        var failed = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("boom"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await failed);

        Assert.That(completed.Cancel(), Is.False);
        Assert.That(failed.Cancel(), Is.False);
        Assert.That(dispatcher.Cancel(completed.Id), Is.False);

        Assert.That(completed.State, Is.EqualTo(TaskState.Completed));
        Assert.That(failed.State, Is.EqualTo(TaskState.Failed));
        Assert.That(await completed, Is.EqualTo(3));
    }

    [Test]
    public async Task Cancel_CancelledTaskCancelledAgain_ReturnsFalse()
    {
        await using var dispatcher = BuildSingleSlot();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        Assert.That(handle.Cancel(), Is.True);
        Assert.That(handle.Cancel(), Is.False);
        await blocker.ReleaseAndWaitAsync();
    }

    [Test]
    public async Task SubmitAsync_AlreadyCancelledToken_EndsCancelledAtOnceWithoutRunning()
    {
        var observer = new RecordingObserver();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .AddObserver(observer)
            .Build();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var ran = 0;

        var handle = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref ran);
                return ValueTask.CompletedTask;
            },
            new TaskOptions { CancellationToken = cts.Token });

        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(dispatcher.TryGetHandle(handle.Id, out var found) && found.IsFinished, Is.True, "the task is no longer live");
        Assert.That(handle.StartedAt, Is.Null);

        // Observers hear of the end on their own consumer, never on the submitter's thread; the awaitable follows them.
        await Assert.CatchAsync<OperationCanceledException>(async () => await handle.Completion.WaitAsync(TestTimeouts.Generous));
        Assert.That(observer.Completions[handle.Id], Is.EqualTo(1));

        // The single slot is still free: a later task runs, and the cancelled one never did.
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(ran, Is.Zero);
        Assert.That(handle.Attempts, Is.Zero);
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task Cancel_RunningTask_SlotIsReusedByNextTask()
    {
        await using var dispatcher = BuildSingleSlot();
        var started = new Signal();
        var running = await dispatcher.SubmitAsync(async context =>
        {
            started.Set();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        });
        await started.WaitAsync();
        var next = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("next"));
        Assert.That(next.State, Is.EqualTo(TaskState.Pending));

        running.Cancel();

        Assert.That(await next, Is.EqualTo("next"));
        Assert.That(running.State, Is.EqualTo(TaskState.Cancelled));
    }

    [Test]
    public async Task Cancel_PendingTasks_FreedPermitsAdmitNewTasks()
    {
        await using var dispatcher = BuildSingleSlot(o => o.MaxPendingTasks = 1);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Is.False);

        queued.Cancel();

        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out var admitted), Is.True);
        await blocker.ReleaseAndWaitAsync();
        await admitted!;
    }

    /// <summary>
    /// A cancellation that arrives while the recovery policy is deciding (the attempt has ended, the task is still
    /// Running) must not be lost: the task is waiting for a retry, and a waiting task ends Cancelled at once.
    /// </summary>
    [Test]
    public async Task Cancel_WhileRecoveryPolicyDecidesDelayedRetry_EndsCancelledWithoutWaitingForRetryDelay()
    {
        var fake = new FakeTimeProvider();
        using var policy = new GatedRecoveryPolicy(TimeSpan.FromMinutes(10));
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .UseRecovery(policy)
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();

        var handle = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("attempt failed"));
        await policy.Deciding.WaitAsync();
        Assert.That(handle.State, Is.EqualTo(TaskState.Running));

        Assert.That(handle.Cancel(), Is.True, "the task has not finished, so the request is accepted");
        policy.Proceed();

        // The follow-up can only start once the failed attempt's worker has carried out the decision and freed the slot.
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));

        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled), "Cancel() returned true, yet the task waits for a retry in 10 (fake) minutes");
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    private static TaskDispatcher BuildSingleSlot(Action<TaskDispatcherOptions>? configure = null) =>
        new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .Configure(configure ?? (static _ => { }))
            .Build();
}
