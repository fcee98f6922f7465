using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class TimeoutTests
{
    private static readonly TimeSpan s_overall = TimeSpan.FromSeconds(30);

    [Test]
    public async Task OverallTimeout_WorkIgnoresItsTokenAndSucceeds_TaskCompletes()
    {
        // Cancellation is cooperative, as with the per-attempt timeout (and Polly's): a result that still arrives wins.
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time);
        var started = new Signal();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var handle = await dispatcher.SubmitAsync(async context =>
        {
            started.Set();
            await release.Task;
            return context.CancellationToken.IsCancellationRequested ? "late but done" : "in time";
        }, new TaskOptions { OverallTimeout = s_overall });
        await started.WaitAsync();
        time.Advance(s_overall);
        release.SetResult();

        Assert.That(await handle, Is.EqualTo("late but done"));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task OverallTimeout_ClockMovesWhileItsTimerIsMade_ExpiresWhenTheClockReachesIt()
    {
        var time = new ClockMovingTimeProvider();
        await using var dispatcher = Build(time);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        try
        {
            time.MoveWhileTheNextTimerIsMade(s_overall - TimeSpan.FromSeconds(1));

            var handle = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { OverallTimeout = s_overall });
            Assert.That(time.Moved, Is.True);
            Assert.That(handle.State, Is.EqualTo(TaskState.Pending), "29 of 30 seconds");

            // A timer counted from when it was made would wait 30 s more; the timeout counts from the submission.
            time.Advance(TimeSpan.FromSeconds(1));

            await Assert.ThrowsAsync<TaskTimeoutException>(async () => await Outcomes.OutcomeAsync(handle));
        }
        finally
        {
            // The blocker ignores its token: released here, so that a failed assertion cannot leave the dispose waiting
            // for it on a clock nobody advances.
            blocker.Release();
        }
    }

    [Test]
    public async Task OverallTimeout_TaskStillWaitingWhenItPasses_FailsWithTimeoutExceptionWithoutRunning()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        try
        {
            var runs = 0;

            var handle = await dispatcher.SubmitAsync(
                _ =>
                {
                    Interlocked.Increment(ref runs);
                    return ValueTask.CompletedTask;
                },
                new TaskOptions { OverallTimeout = s_overall });

            time.Advance(s_overall - TimeSpan.FromSeconds(1));
            Assert.That(handle.State, Is.EqualTo(TaskState.Pending), "29 of 30 seconds");

            time.Advance(TimeSpan.FromSeconds(1));

            var error = await Assert.ThrowsAsync<TaskTimeoutException>(async () => await Outcomes.OutcomeAsync(handle));
            Assert.That(error?.Message, Does.Contain(handle.Id));
            Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
            Assert.That(handle.Exception, Is.SameAs(error));
            Assert.That(handle.Attempts, Is.Zero);
            Assert.That(handle.AttemptFailures, Is.Empty, "no attempt ran, so none failed");

            // FIFO: had the timed-out task stayed queued, it would run on the freed slot before this one.
            await blocker.ReleaseAndWaitAsync();
            await Outcomes.OutcomeAsync(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
            Assert.That(runs, Is.Zero);
            Assert.That(handle.Attempts, Is.Zero);
        }
        finally
        {
            blocker.Release();
        }
    }

    [Test]
    public async Task OverallTimeout_AttemptRunningWhenItPasses_CancelsItAndFailsWithoutRetry()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time, RecoveryPolicy.Retry(static o =>
        {
            o.MaxRetryAttempts = 5;
            o.Delay = TimeSpan.Zero;
        }));
        var started = new Signal();
        var attemptToken = CancellationToken.None;

        var handle = await dispatcher.SubmitAsync<int>(
            async context =>
            {
                if (context.Attempt > 1)
                {
                    return context.Attempt;
                }

                attemptToken = context.CancellationToken;
                started.Set();
                await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
                return context.Attempt;
            },
            new TaskOptions { OverallTimeout = s_overall });
        await started.WaitAsync();

        time.Advance(s_overall - TimeSpan.FromSeconds(1));
        Assert.That(handle.State, Is.EqualTo(TaskState.Running));
        Assert.That(attemptToken.IsCancellationRequested, Is.False);

        time.Advance(TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<TaskTimeoutException>(async () => await Outcomes.OutcomeAsync(handle));
        Assert.That(attemptToken.IsCancellationRequested, Is.True);
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Attempts, Is.EqualTo(1), "the retry policy is not asked after the overall timeout");
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        Assert.That(handle.AttemptFailures[0].Exception, Is.SameAs(error));
        Assert.That(handle.AttemptFailures[0].IsNodeFault, Is.False);
    }

    [Test]
    public async Task OverallTimeout_PassesWhileWaitingForADelayedRetry_FailsWithTimeoutException()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time, RecoveryPolicy.Retry(static o => o.Delay = TimeSpan.FromMinutes(1)));
        var runs = 0;

        var handle = await dispatcher.SubmitAsync(
            context =>
            {
                Interlocked.Increment(ref runs);
                return context.Attempt == 1 ? throw new IOException("transient") : ValueTask.FromResult(context.Attempt);
            },
            new TaskOptions { OverallTimeout = s_overall });
        await TestTimeouts.WaitUntilAsync(() => handle.State == TaskState.Retrying, "attempt 1 failed and its retry waits a minute");

        time.Advance(s_overall - TimeSpan.FromSeconds(1));
        Assert.That(handle.State, Is.EqualTo(TaskState.Retrying));

        time.Advance(TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<TaskTimeoutException>(async () => await Outcomes.OutcomeAsync(handle));
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Exception, Is.SameAs(error));
        Assert.That(handle.AttemptFailures.Select(static f => f.Exception), Has.Exactly(1).Items.And.All.InstanceOf<IOException>());

        // The retry would have been due at 1 min: it never comes.
        time.Advance(TimeSpan.FromMinutes(1));
        await Outcomes.OutcomeAsync(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(runs, Is.EqualTo(1));
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task Timeout_FirstAttemptTimesOut_RetryPolicyRunsASecondAttemptThatSucceeds()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time, RecoveryPolicy.Retry(static o => o.Delay = TimeSpan.Zero));
        var started = new Signal();

        var handle = await dispatcher.SubmitAsync<int>(
            async context =>
            {
                if (context.Attempt == 1)
                {
                    started.Set();
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
                }

                return context.Attempt;
            },
            new TaskOptions { Timeout = TimeSpan.FromSeconds(5) });
        await started.WaitAsync();

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.That(handle.State, Is.EqualTo(TaskState.Running), "4 of 5 seconds");

        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(2));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        var failure = handle.AttemptFailures[0];
        Assert.That(failure.Attempt, Is.EqualTo(1));
        Assert.That(failure.Exception, Is.InstanceOf<TimeoutException>());
        Assert.That(failure.Exception.InnerException, Is.InstanceOf<OperationCanceledException>());
        Assert.That(failure.IsNodeFault, Is.False);
        Assert.That(failure.NodeName, Is.EqualTo("n"));
    }

    [TestCase(false, TaskState.Failed)]
    [TestCase(true, TaskState.Cancelled)]
    public async Task Stop_CancelAndOverallTimeoutWhileRunning_FirstReasonWins(bool cancelFirst, TaskState expected)
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time);
        var started = new Signal();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attemptToken = CancellationToken.None;

        // The work notices the stop only when the test lets it, so both requests reach the same running attempt.
        var handle = await dispatcher.SubmitAsync(
            async context =>
            {
                attemptToken = context.CancellationToken;
                started.Set();
                await release.Task.WaitAsync(TestTimeouts.Generous);
                context.CancellationToken.ThrowIfCancellationRequested();
            },
            new TaskOptions { OverallTimeout = s_overall });
        await started.WaitAsync();

        if (cancelFirst)
        {
            Assert.That(handle.Cancel(), Is.True);
            time.Advance(s_overall);
        }
        else
        {
            time.Advance(s_overall);
            Assert.That(handle.Cancel(), Is.True, "the attempt still runs, so the request is made");
        }

        Assert.That(attemptToken.IsCancellationRequested, Is.True);
        Assert.That(handle.State, Is.EqualTo(TaskState.Running), "the task ends when its attempt returns");
        release.SetResult();

        if (expected == TaskState.Failed)
        {
            await Assert.ThrowsAsync<TaskTimeoutException>(async () => await Outcomes.OutcomeAsync(handle));
        }
        else
        {
            await Assert.CatchAsync<OperationCanceledException>(async () => await Outcomes.OutcomeAsync(handle));
        }

        Assert.That(handle.State, Is.EqualTo(expected));
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task Cancel_WaitingTaskAfterOverallTimeoutFailedIt_ReturnsFalseAndStaysFailed()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { OverallTimeout = s_overall });

        time.Advance(s_overall);

        Assert.That(handle.Cancel(), Is.False);
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Exception, Is.InstanceOf<TimeoutException>());
        await Assert.ThrowsAsync<TaskTimeoutException>(async () => await Outcomes.OutcomeAsync(handle));
        await blocker.ReleaseAndWaitAsync();
    }

    [Test]
    public async Task OverallTimeout_TaskFinishesInTime_CompletesAndTheTimerDoesNothingLater()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time);

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("done"), new TaskOptions { OverallTimeout = s_overall });

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("done"));
        time.Advance(s_overall * 2);
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Exception, Is.Null);
    }

    [Test]
    public async Task OverallTimeout_Infinite_IsAccepted()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = Build(time);

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(7), new TaskOptions { OverallTimeout = Timeout.InfiniteTimeSpan });

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(7));
    }

    [TestCaseSource(nameof(InvalidTimeLimits))]
    public async Task SubmitAsync_TimeLimitOutOfRange_ThrowsNamingIt(string parameter, TimeSpan value)
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", static n => n.WithConcurrency(1)).Build();
        var options = parameter == "options.OverallTimeout"
            ? new TaskOptions { OverallTimeout = value }
            : new TaskOptions { HeartbeatTimeout = value };

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, options));

        Assert.That(error?.ParamName, Is.EqualTo(parameter));
        Assert.That(error?.ActualValue, Is.EqualTo(value));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero, "nothing was submitted");
    }

    private static IEnumerable<TestCaseData> InvalidTimeLimits()
    {
        var tooLong = TaskDispatcherDefaults.MaxDelay + TimeSpan.FromTicks(1);
        yield return new TestCaseData("options.OverallTimeout", TimeSpan.Zero).SetArgDisplayNames("OverallTimeout", "zero");
        yield return new TestCaseData("options.OverallTimeout", TimeSpan.FromSeconds(-1)).SetArgDisplayNames("OverallTimeout", "negative");
        yield return new TestCaseData("options.OverallTimeout", tooLong).SetArgDisplayNames("OverallTimeout", "beyond MaxDelay");
        yield return new TestCaseData("options.HeartbeatTimeout", TimeSpan.Zero).SetArgDisplayNames("HeartbeatTimeout", "zero");
        yield return new TestCaseData("options.HeartbeatTimeout", TimeSpan.FromSeconds(-1)).SetArgDisplayNames("HeartbeatTimeout", "negative");
        yield return new TestCaseData("options.HeartbeatTimeout", Timeout.InfiniteTimeSpan).SetArgDisplayNames("HeartbeatTimeout", "infinite");
        yield return new TestCaseData("options.HeartbeatTimeout", tooLong).SetArgDisplayNames("HeartbeatTimeout", "beyond MaxDelay");
    }

    private static TaskDispatcher Build(FakeTimeProvider time, IRecoveryPolicy? recovery = null)
    {
        var builder = new TaskDispatcherBuilder()
            .UseTimeProvider(time)

            // A test that fails half-way must not leave its dispatcher draining against a clock nobody advances.
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("n", static n => n.WithConcurrency(1));
        return (recovery is null ? builder : builder.UseRecovery(recovery)).Build();
    }
}
