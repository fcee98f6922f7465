using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class RetryRecoveryPolicyTests
{
    [TestCase(DelayBackoffType.Constant, new[] { 1, 1, 1, 1 })]
    [TestCase(DelayBackoffType.Linear, new[] { 1, 2, 3, 4 })]
    [TestCase(DelayBackoffType.Exponential, new[] { 1, 2, 4, 8 })]
    public void GetDelay_EachBackoffType_GrowsAsDocumented(DelayBackoffType backoff, int[] seconds)
    {
        var policy = new RetryRecoveryPolicy(new RetryRecoveryOptions { Delay = TimeSpan.FromSeconds(1), BackoffType = backoff });

        var delays = Enumerable.Range(1, 4).Select(policy.GetDelay).ToArray();

        Assert.That(delays, Is.EqualTo(seconds.Select(static s => TimeSpan.FromSeconds(s)).ToArray()));
    }

    [Test]
    public void GetDelay_ExponentialBeyondMaxDelay_IsCapped()
    {
        var policy = new RetryRecoveryPolicy(new RetryRecoveryOptions
        {
            Delay = TimeSpan.FromSeconds(1),
            BackoffType = DelayBackoffType.Exponential,
            MaxDelay = TimeSpan.FromSeconds(5),
        });

        Assert.That(policy.GetDelay(3), Is.EqualTo(TimeSpan.FromSeconds(4)));
        Assert.That(policy.GetDelay(4), Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(policy.GetDelay(1_000), Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void GetDelay_HugeAttemptWithoutCap_StaysWithinTheTimerLimit()
    {
        var policy = new RetryRecoveryPolicy(new RetryRecoveryOptions { BackoffType = DelayBackoffType.Exponential });

        Assert.That(policy.GetDelay(10_000), Is.EqualTo(TaskDispatcherDefaults.MaxDelay));
    }

    [Test]
    public void GetDelay_Jitter_StaysWithinAQuarterEitherWayAndSpreads()
    {
        var policy = new RetryRecoveryPolicy(new RetryRecoveryOptions
        {
            Delay = TimeSpan.FromSeconds(4),
            UseJitter = true,
            Random = new Random(99),
        });

        var delays = Enumerable.Range(0, 10_000).Select(_ => policy.GetDelay(1)).ToArray();

        Assert.That(delays.Min(), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(delays.Max(), Is.LessThanOrEqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(delays.Average(static d => d.TotalSeconds), Is.EqualTo(4).Within(0.05));
        Assert.That(delays.Distinct().Count(), Is.GreaterThan(9_000));
    }

    [Test]
    public void Decide_AttemptsAndPredicate_RetriesOnlyWhileAllowed()
    {
        var policy = new RetryRecoveryPolicy(new RetryRecoveryOptions
        {
            MaxRetryAttempts = 2,
            Delay = TimeSpan.FromSeconds(1),
            ShouldRetry = static exception => exception is not ArgumentException,
        });
        var task = Tasks.Create();

        Assert.That(policy.Decide(Failure(task, 1, new IOException())), Is.EqualTo(RecoveryDecision.Retry(TimeSpan.FromSeconds(1))));
        Assert.That(policy.Decide(Failure(task, 2, new IOException())).ShouldRetry, Is.True);
        Assert.That(policy.Decide(Failure(task, 3, new IOException())), Is.EqualTo(RecoveryDecision.GiveUp));
        Assert.That(policy.Decide(Failure(task, 1, new ArgumentException("not transient"))), Is.EqualTo(RecoveryDecision.GiveUp));
        Assert.That(new RetryRecoveryPolicy(new RetryRecoveryOptions { MaxRetryAttempts = 0 }).Decide(Failure(task, 1, new IOException())).ShouldRetry, Is.False);
    }

    [TestCase(nameof(RetryRecoveryOptions.MaxRetryAttempts))]
    [TestCase(nameof(RetryRecoveryOptions.Delay))]
    [TestCase(nameof(RetryRecoveryOptions.MaxDelay))]
    [TestCase(nameof(RetryRecoveryOptions.BackoffType))]
    public void Constructor_SettingOutOfRange_ThrowsNamingIt(string setting)
    {
        var options = new RetryRecoveryOptions();
        switch (setting)
        {
            case nameof(RetryRecoveryOptions.MaxRetryAttempts): options.MaxRetryAttempts = -1; break;
            case nameof(RetryRecoveryOptions.Delay): options.Delay = TimeSpan.FromSeconds(-1); break;
            case nameof(RetryRecoveryOptions.MaxDelay): options.MaxDelay = TimeSpan.FromSeconds(-1); break;
            default: options.BackoffType = (DelayBackoffType)42; break;
        }

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RetryRecoveryPolicy(options));

        Assert.That(error?.ParamName, Is.EqualTo(setting));
    }

    [Test]
    public async Task Dispatcher_ExponentialRetries_WaitOnTheClockWithoutHoldingTheSlot()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .UseRecovery(RecoveryPolicy.Retry(static o =>
            {
                o.Delay = TimeSpan.FromSeconds(10);
                o.BackoffType = DelayBackoffType.Exponential;
            }))
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();

        var flaky = await dispatcher.SubmitAsync(static context =>
            context.Attempt < 3 ? throw new IOException("transient") : ValueTask.FromResult(context.Attempt));

        await TestTimeouts.WaitUntilAsync(() => flaky.State == TaskState.Retrying, "the first attempt failed");
        Assert.That(await await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("ran meanwhile")), Is.EqualTo("ran meanwhile"));
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.That(flaky.Attempts, Is.EqualTo(1), "no retry before the 10 s delay");

        time.Advance(TimeSpan.FromSeconds(1));
        await TestTimeouts.WaitUntilAsync(() => flaky.Attempts == 2 && flaky.State == TaskState.Retrying, "the second attempt failed");
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.That(flaky.Attempts, Is.EqualTo(2), "no retry before the doubled 20 s delay");

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await Outcomes.OutcomeAsync(flaky), Is.EqualTo(3));
    }

    [Test]
    public async Task Dispatcher_ClockAdvancedWhileTheRetryTimerIsMade_RetriesWhenTheClockReachesTheDelay()
    {
        // The race behind a hung CI run: a test saw the task Retrying and advanced the clock while the engine, which
        // makes the task visible as Retrying before it arms the retry's timer, was still arming it.
        var time = new ClockMovingTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .UseRecovery(RecoveryPolicy.Retry(static o => o.Delay = TimeSpan.FromSeconds(10)))
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();
        time.MoveWhileTheNextTimerIsMade(TimeSpan.FromSeconds(9));

        var flaky = await dispatcher.SubmitAsync(static context =>
            context.Attempt < 2 ? throw new IOException("transient") : ValueTask.FromResult(context.Attempt));
        await TestTimeouts.WaitUntilAsync(() => time.Moved && flaky.State == TaskState.Retrying, "the first attempt failed");
        Assert.That(flaky.Attempts, Is.EqualTo(1), "no retry before the 10 s delay");

        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await Outcomes.OutcomeAsync(flaky), Is.EqualTo(2));
    }

    [Test]
    public async Task SubmitAsync_DelayBeyondTheTimerLimit_ThrowsNamingIt()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Delay = TimeSpan.FromDays(60) }));

        Assert.That(error?.ParamName, Is.EqualTo("options.Delay"));
    }

    private static RecoveryContext Failure(TaskHandle task, int attempt, Exception exception) =>
        new(task, attempt, exception, "node", DateTimeOffset.UnixEpoch);
}
