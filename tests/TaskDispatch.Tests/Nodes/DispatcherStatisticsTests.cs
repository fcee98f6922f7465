using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Nodes;

[TestFixture]
[CancelAfter(60_000)]
public sealed class DispatcherStatisticsTests
{
    [Test]
    public async Task GetStatistics_OneTaskOfTenSecondsOnTwoSlotsOverTwentySeconds_UtilizationIsAQuarter()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("a", static n => n.WithConcurrency(2))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var started = new Signal();

        var handle = await dispatcher.SubmitAsync(async context =>
        {
            var delay = Task.Delay(TimeSpan.FromSeconds(10), context.TimeProvider);
            started.Set();
            await delay;
        }, new TaskOptions { RequiredNode = "a" });
        await started.WaitAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        await handle;
        time.Advance(TimeSpan.FromSeconds(10));

        var statistics = dispatcher.GetStatistics();
        var a = statistics.Nodes.Single(static n => n.Name == "a");
        var b = statistics.Nodes.Single(static n => n.Name == "b");
        Assert.Multiple(() =>
        {
            Assert.That(a.AttemptsStarted, Is.EqualTo(1));
            Assert.That(a.TasksAssigned, Is.EqualTo(1));
            Assert.That(a.BusyTime, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(a.Uptime, Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(a.Utilization, Is.EqualTo(0.25).Within(1e-9));
            Assert.That(b.Utilization, Is.Zero);
            Assert.That(dispatcher.Nodes.Single(static n => n.Name == "a").RecentProcessingTime, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(statistics.AllocationDecisions, Is.EqualTo(1));
            Assert.That(statistics.LiveTasks, Is.Zero);
            Assert.That(statistics.Timestamp, Is.EqualTo(time.GetUtcNow()));
        });
    }

    [Test]
    public async Task GetStatistics_ActiveTaskAndManyDecisions_CountsSlotsInUseAndAveragesAllocationTime()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(2)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        for (var i = 0; i < 100; i++)
        {
            await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        }

        // The last slot release may still be in a scheduler step on another thread.
        await TestTimeouts.WaitUntilAsync(() => dispatcher.GetStatistics().Nodes[0].ActiveTasks == 1, "only the blocker holds a slot");
        var statistics = dispatcher.GetStatistics();

        Assert.That(statistics.Nodes[0].ActiveTasks, Is.EqualTo(1));
        Assert.That(statistics.Nodes[0].AttemptsStarted, Is.EqualTo(101));
        Assert.That(statistics.AllocationDecisions, Is.EqualTo(101));
        await blocker.ReleaseAndWaitAsync();
    }

    [Test]
    public async Task GetStatistics_StrategyTakingTwoMillisecondsOnTheClock_AverageAllocationTimeIsTwoMilliseconds()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .UseAllocation(new ClockAdvancingStrategy(time, TimeSpan.FromMilliseconds(2)))
            .AddNode("a", static n => n.WithConcurrency(1))
            .Build();

        for (var i = 0; i < 10; i++)
        {
            await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        }

        var statistics = dispatcher.GetStatistics();
        Assert.That(statistics.AllocationDecisions, Is.EqualTo(10));
        Assert.That(statistics.AverageAllocationTime, Is.EqualTo(TimeSpan.FromMilliseconds(2)));
    }

    /// <summary>Takes a known time to decide, on the fake clock, so the measured decision time is exact.</summary>
    private sealed class ClockAdvancingStrategy(FakeTimeProvider time, TimeSpan cost) : IAllocationStrategy
    {
        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            time.Advance(cost);
            return 0;
        }
    }
}
