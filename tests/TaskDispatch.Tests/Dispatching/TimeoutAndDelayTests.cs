using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class TimeoutAndDelayTests
{
    [Test]
    public async Task Timeout_AttemptExceedsIt_FailsWithTimeoutException()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        var started = new Signal();

        var handle = await dispatcher.SubmitAsync(
            async context =>
            {
                started.Set();
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            },
            new TaskOptions { Timeout = TimeSpan.FromSeconds(5) });
        await WaitUntilRunningAsync(handle, started);

        fake.Advance(TimeSpan.FromSeconds(4));
        Assert.That(handle.State, Is.EqualTo(TaskState.Running), "4 of 5 seconds have passed");

        fake.Advance(TimeSpan.FromSeconds(1));

        var thrown = await Assert.ThrowsAsync<TaskTimeoutException>(async () => await handle);
        Assert.That(thrown!.InnerException, Is.InstanceOf<OperationCanceledException>());
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Exception, Is.SameAs(thrown));
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task Timeout_WithTwoAttempts_RetriesAndSecondAttemptSucceeds()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        var started = new Signal();

        var handle = await dispatcher.SubmitAsync<int>(
            async context =>
            {
                if (context.Attempt == 1)
                {
                    started.Set();
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }

                return context.Attempt;
            },
            new TaskOptions { Timeout = TimeSpan.FromSeconds(5), MaxRetryAttempts = 1 });
        await WaitUntilRunningAsync(handle, started);

        fake.Advance(TimeSpan.FromSeconds(5));

        Assert.That(await handle, Is.EqualTo(2));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Attempts, Is.EqualTo(2));
    }

    [Test]
    public async Task Timeout_WorkFinishesInTime_Completes()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("done"), new TaskOptions { Timeout = TimeSpan.FromSeconds(5) });

        Assert.That(await handle, Is.EqualTo("done"));
        fake.Advance(TimeSpan.FromSeconds(10));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task Delay_BeforeItPasses_TaskStaysPendingAndDoesNotRun()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        var ran = new Signal();
        var submittedAt = fake.GetUtcNow();
        var startedAt = DateTimeOffset.MinValue;

        var handle = await dispatcher.SubmitAsync(
            context =>
            {
                startedAt = context.TimeProvider.GetUtcNow();
                ran.Set();
                return ValueTask.CompletedTask;
            },
            new TaskOptions { Delay = TimeSpan.FromSeconds(10) });
        Assert.That(handle.SubmittedAt, Is.EqualTo(submittedAt));

        fake.Advance(TimeSpan.FromSeconds(9));

        // Its timer has not fired, so nothing can have made it ready.
        Assert.That(handle.State, Is.EqualTo(TaskState.Pending));
        Assert.That(ran.IsSet, Is.False);
        Assert.That(handle.Attempts, Is.Zero);

        fake.Advance(TimeSpan.FromSeconds(1));

        await Outcomes.OutcomeAsync(handle);
        Assert.That(ran.IsSet, Is.True);
        Assert.That(startedAt, Is.EqualTo(submittedAt + TimeSpan.FromSeconds(10)));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task Delay_ClockMovesWhileItsTimerIsMade_RunsWhenTheClockReachesTheDelay()
    {
        var time = new ClockMovingTimeProvider();
        await using var dispatcher = Build(time);
        var submittedAt = time.GetUtcNow();
        time.MoveWhileTheNextTimerIsMade(TimeSpan.FromSeconds(9));

        var handle = await dispatcher.SubmitAsync(
            static context => ValueTask.FromResult(context.TimeProvider.GetUtcNow()),
            new TaskOptions { Delay = TimeSpan.FromSeconds(10) });
        Assert.That(time.Moved, Is.True);
        Assert.That(handle.State, Is.EqualTo(TaskState.Pending));

        // A timer counted from when it was made would wait 10 s more; the delay counts from the submission.
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(submittedAt + TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task NotBefore_BeforeThatTime_TaskStaysPendingAndThenRuns()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        var ran = new Signal();
        var notBefore = fake.GetUtcNow() + TimeSpan.FromSeconds(10);

        var handle = await dispatcher.SubmitAsync(
            _ =>
            {
                ran.Set();
                return ValueTask.FromResult(1);
            },
            new TaskOptions { NotBefore = notBefore });

        fake.Advance(TimeSpan.FromSeconds(9.5));
        Assert.That(handle.State, Is.EqualTo(TaskState.Pending));
        Assert.That(ran.IsSet, Is.False);

        fake.Advance(TimeSpan.FromSeconds(0.5));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(1));
        Assert.That(fake.GetUtcNow(), Is.EqualTo(notBefore));
    }

    [Test]
    public async Task NotBefore_InThePast_RunsAtOnce()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(5), new TaskOptions { NotBefore = fake.GetUtcNow() - TimeSpan.FromHours(1) });

        Assert.That(await handle, Is.EqualTo(5));
    }

    [Test]
    public async Task Delay_WhileWaiting_HoldsNoNodeSlot()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        var delayedRan = new Signal();

        var delayed = await dispatcher.SubmitAsync(
            _ =>
            {
                delayedRan.Set();
                return ValueTask.CompletedTask;
            },
            new TaskOptions { Delay = TimeSpan.FromSeconds(10) });

        // The only slot is free for other work while the delayed task waits.
        var first = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));
        var second = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(2));
        Assert.That(await first, Is.EqualTo(1));
        Assert.That(await second, Is.EqualTo(2));
        Assert.That(delayed.State, Is.EqualTo(TaskState.Pending));
        Assert.That(delayedRan.IsSet, Is.False);
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].ActiveTasks == 0, "no slot is in use while the delayed task waits");

        fake.Advance(TimeSpan.FromSeconds(10));

        await delayed;
        Assert.That(delayedRan.IsSet, Is.True);
    }

    [Test]
    public async Task Cancel_DelayedTask_EndsCancelledAndNeverRuns()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        var ran = 0;

        var handle = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref ran);
                return ValueTask.CompletedTask;
            },
            new TaskOptions { Delay = TimeSpan.FromSeconds(10) });

        Assert.That(handle.Cancel(), Is.True);
        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        await Assert.CatchAsync<OperationCanceledException>(async () => await handle);

        fake.Advance(TimeSpan.FromSeconds(30));

        // A task submitted after the delay elapsed runs on the single slot; the cancelled one never does.
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(ran, Is.Zero);
        Assert.That(handle.Attempts, Is.Zero);
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task Cancel_DelayedTaskViaOptionsToken_EndsCancelled()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake);
        using var cts = new CancellationTokenSource();
        var ran = 0;

        var handle = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref ran);
                return ValueTask.CompletedTask;
            },
            new TaskOptions { Delay = TimeSpan.FromSeconds(10), CancellationToken = cts.Token });

        await cts.CancelAsync();
        fake.Advance(TimeSpan.FromSeconds(10));

        await Assert.CatchAsync<OperationCanceledException>(async () => await handle);
        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(ran, Is.Zero);
    }

    private static TaskDispatcher Build(FakeTimeProvider fake) =>
        new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)

            // A test that fails half-way must not leave its dispatcher draining against a clock nobody advances.
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();

    /// <summary>
    /// Waits until the attempt is Running and its work has started. The work's own signal matters: the attempt's
    /// timeout timer is created after the Running transition is published, so advancing the fake clock on seeing
    /// Running alone could move time before the timer exists.
    /// </summary>
    private static async Task WaitUntilRunningAsync(TaskHandle handle, Signal workStarted)
    {
        await TestTimeouts.WaitUntilAsync(() => handle.State == TaskState.Running, "the task is running");
        await workStarted.WaitAsync();
    }
}
