using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class NodeCircuitBreakerTests
{
    [Test]
    public async Task FailingNode_IsQuarantined_TrafficMovesAway_AndReturnsAfterASuccessfulProbe()
    {
        var time = new FakeTimeProvider();
        var nodeABroken = true;
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o => o.NodeCircuitBreaker = new NodeCircuitBreakerOptions
            {
                ConsecutiveFailures = 3,
                BreakDuration = TimeSpan.FromSeconds(30),
            })
            .UseAllocation(AllocationStrategy.RoundRobin())
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();

        async Task<string> RunOneAsync()
        {
            var handle = await dispatcher.SubmitAsync(context =>
                context.NodeName == "a" && Volatile.Read(ref nodeABroken)
                    ? throw new NodeFailureException("a is broken")
                    : ValueTask.FromResult(context.NodeName));
            return await handle;
        }

        // Every task lands somewhere good: a's failures fail over to b.
        var placements = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            placements.Add(await RunOneAsync());
        }

        Assert.That(placements, Is.All.EqualTo("b"));
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "three failures in a row open a's circuit");
        var assignedToA = dispatcher.Nodes[0].TasksAssigned;
        Assert.That(assignedToA, Is.EqualTo(3), "a got work until its circuit opened, then none");

        for (var i = 0; i < 4; i++)
        {
            Assert.That(await RunOneAsync(), Is.EqualTo("b"));
        }

        Assert.That(dispatcher.Nodes[0].TasksAssigned, Is.EqualTo(assignedToA), "a quarantined node receives no work");

        Volatile.Write(ref nodeABroken, false);
        time.Advance(TimeSpan.FromSeconds(30));
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Probing, "a's break is over");

        var afterBreak = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            afterBreak.Add(await RunOneAsync());
        }

        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Healthy, "a successful probe closes the circuit");
        Assert.That(afterBreak.Count(static n => n == "a"), Is.GreaterThanOrEqualTo(2), "traffic returns to a once it is healthy");
        Assert.That(dispatcher.GetStatistics().Nodes[0].Quarantines, Is.EqualTo(1));
    }

    [Test]
    public async Task FailedProbe_QuarantinesTheNodeAgain()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o => o.NodeCircuitBreaker = new NodeCircuitBreakerOptions { ConsecutiveFailures = 1, BreakDuration = TimeSpan.FromSeconds(10) })
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .UseAllocation(AllocationStrategy.RoundRobin())
            .Build();
        var failOnA = static (TaskContext context) =>
            context.NodeName == "a" ? throw new NodeFailureException("still broken") : ValueTask.FromResult(context.NodeName);

        Assert.That(await await dispatcher.SubmitAsync(failOnA), Is.EqualTo("b"));
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "the node is Quarantined");

        time.Advance(TimeSpan.FromSeconds(10));
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Probing, "the break is over");

        // Round robin now offers the probing node its probe; it fails, and the task fails over to b.
        var probed = 0L;
        while (dispatcher.Nodes[0].Health == NodeHealth.Probing)
        {
            Assert.That(await await dispatcher.SubmitAsync(failOnA), Is.EqualTo("b"));
            Assert.That(++probed, Is.LessThan(10), "a probe reaches the probing node");
        }

        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "the node is Quarantined");
        Assert.That(dispatcher.GetStatistics().Nodes[0].Quarantines, Is.EqualTo(2));
    }

    [Test]
    public async Task FailureRatio_OpensTheCircuitOnceTheMinimumThroughputIsReached()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o => o.NodeCircuitBreaker = new NodeCircuitBreakerOptions
            {
                ConsecutiveFailures = null,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
            })
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();

        // Alternate failure and success: never two failures in a row, but half of all attempts fail.
        for (var i = 0; i < 3; i++)
        {
            var fail = i % 2 == 0;
            var handle = await dispatcher.SubmitAsync(_ => fail ? throw new IOException("flaky") : ValueTask.CompletedTask);
            await handle.Completion.ContinueWith(static _ => { }, TaskScheduler.Default);
            // The breaker decides before the task ends, so the requested health is exact here.
            Assert.That(dispatcher.Nodes[0].Runtime.RequestedHealth, Is.EqualTo(NodeHealth.Healthy), $"below the minimum throughput after {i + 1} attempts");
        }

        var fourth = await dispatcher.SubmitAsync(static _ => throw new IOException("flaky"));
        await fourth.Completion.ContinueWith(static _ => { }, TaskScheduler.Default);
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "3 of 4 failed");
    }

    [Test]
    public async Task SettingHealthByHand_OverridesAndResetsTheBreaker()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.NodeCircuitBreaker = new NodeCircuitBreakerOptions { ConsecutiveFailures = 1 })
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();

        var failed = await dispatcher.SubmitAsync(static _ => throw new IOException("boom"));
        await failed.Completion.ContinueWith(static _ => { }, TaskScheduler.Default);
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "the node is Quarantined");

        dispatcher.SetNodeHealth("only", NodeHealth.Healthy);
        Assert.That(await await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1)), Is.EqualTo(1));
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Healthy, "the node is Healthy");
    }

    [Test]
    public async Task ShouldHandle_FailuresItRejectsDoNotCount()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.NodeCircuitBreaker = new NodeCircuitBreakerOptions
            {
                ConsecutiveFailures = 1,
                ShouldHandle = NodeFailureException.IsNodeFault,
            })
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 0; o.Delay = TimeSpan.Zero; }))
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();

        var taskFault = await dispatcher.SubmitAsync(static _ => throw new ArgumentException("bad input"));
        await taskFault.Completion.ContinueWith(static _ => { }, TaskScheduler.Default);
        Assert.That(dispatcher.Nodes[0].Runtime.RequestedHealth, Is.EqualTo(NodeHealth.Healthy), "a task fault is not the node's");

        var nodeFault = await dispatcher.SubmitAsync(static _ => throw new NodeFailureException("disk gone"));
        await nodeFault.Completion.ContinueWith(static _ => { }, TaskScheduler.Default);
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "the node is Quarantined");
    }

    [TestCase(nameof(NodeCircuitBreakerOptions.FailureRatio))]
    [TestCase(nameof(NodeCircuitBreakerOptions.MinimumThroughput))]
    [TestCase(nameof(NodeCircuitBreakerOptions.SamplingDuration))]
    [TestCase(nameof(NodeCircuitBreakerOptions.ConsecutiveFailures))]
    [TestCase(nameof(NodeCircuitBreakerOptions.BreakDuration))]
    public void Build_InvalidBreakerSetting_ThrowsNamingIt(string setting)
    {
        var options = new NodeCircuitBreakerOptions();
        switch (setting)
        {
            case nameof(NodeCircuitBreakerOptions.FailureRatio): options.FailureRatio = 0; break;
            case nameof(NodeCircuitBreakerOptions.MinimumThroughput): options.MinimumThroughput = 0; break;
            case nameof(NodeCircuitBreakerOptions.SamplingDuration): options.SamplingDuration = TimeSpan.Zero; break;
            case nameof(NodeCircuitBreakerOptions.ConsecutiveFailures): options.ConsecutiveFailures = 0; break;
            default: options.BreakDuration = TimeSpan.FromSeconds(-1); break;
        }

        var builder = new TaskDispatcherBuilder().Configure(o => o.NodeCircuitBreaker = options);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build());
        Assert.That(error?.ParamName, Is.EqualTo($"NodeCircuitBreaker.{setting}"));
    }
}
