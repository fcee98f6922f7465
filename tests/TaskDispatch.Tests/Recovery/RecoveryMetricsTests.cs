using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class RecoveryMetricsTests
{
    [Test]
    public async Task RetriedAndFailedTasks_AreMeasuredLiveAndOnTheSnapshot_OnAFakeClock()
    {
        var name = $"recovery-metrics-{Guid.NewGuid():N}";
        using var collector = new MeterCollector(name);

        var time = new FakeTimeProvider();
        var dispatcher = new TaskDispatcherBuilder(name)
            .UseTimeProvider(time)
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 1; o.Delay = TimeSpan.FromSeconds(10); }))
            .AddNode("n1", static n => n.WithConcurrency(1))
            .Build();

        var recovers = await dispatcher.SubmitAsync(static context => context.Attempt == 1 ? throw new IOException("transient") : ValueTask.FromResult(1));
        var deadLetter = await dispatcher.SubmitAsync(static _ => throw new IOException("permanent"));
        await TestTimeouts.WaitUntilAsync(() => recovers.State == TaskState.Retrying && deadLetter.State == TaskState.Retrying, "both first attempts failed");

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(await Outcomes.OutcomeAsync(recovers), Is.EqualTo(1));
        await Assert.ThrowsAsync<IOException>(async () => await Outcomes.OutcomeAsync(deadLetter));

        var statistics = dispatcher.GetStatistics();
        await dispatcher.DisposeAsync();
        var recovery = statistics.Recovery;
        Assert.Multiple(() =>
        {
            Assert.That(statistics.TasksAccepted, Is.EqualTo(2));
            Assert.That(statistics.TasksCompleted, Is.EqualTo(1));
            Assert.That(statistics.TasksFailed, Is.EqualTo(1));
            Assert.That(recovery.AttemptFailures, Is.EqualTo(3));
            Assert.That(recovery.Restarts, Is.EqualTo(2));
            Assert.That(recovery.AverageRestartDelay, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(recovery.TasksRecovered, Is.EqualTo(1));
            Assert.That(recovery.AverageRecoveryTime, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(recovery.DeadLetters, Is.EqualTo(1));
            Assert.That(recovery.LostTasks, Is.Zero);
            Assert.That(recovery.LossRate, Is.Zero);
        });

        Assert.Multiple(() =>
        {
            Assert.That(collector.Sum(TaskDispatchMetrics.AttemptFailures), Is.EqualTo(3));
            Assert.That(collector.Of(TaskDispatchMetrics.AttemptFailures).Select(static m => m.Tags[TaskDispatchMetrics.FaultTag]), Is.All.EqualTo("task"));
            Assert.That(collector.Of(TaskDispatchMetrics.AttemptFailures).Select(static m => m.Tags[TaskDispatchMetrics.NodeTag]), Is.All.EqualTo("n1"));
            Assert.That(collector.Sum(TaskDispatchMetrics.Restarts), Is.EqualTo(2));
            Assert.That(collector.Of(TaskDispatchMetrics.RestartDelay).Select(static m => m.Value), Is.EqualTo(new[] { 10.0, 10.0 }));
            Assert.That(collector.Of(TaskDispatchMetrics.RecoveryDuration).Select(static m => m.Value), Is.EqualTo(new[] { 10.0 }));
            Assert.That(collector.Sum(TaskDispatchMetrics.DeadLetters), Is.EqualTo(1));
            Assert.That(collector.Sum(TaskDispatchMetrics.LostTasks), Is.Zero);
        });
    }
}
