using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Allocation;

/// <summary>Allocation through a running dispatcher: build-time validation, preferred and required tags, and resource
/// fit under load.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class AllocationEndToEndTests
{
    [Test]
    public void Build_WeightedRandomAndEveryNodeWeightZero_ThrowsArgumentException()
    {
        var builder = new TaskDispatcherBuilder()
            .UseAllocation(AllocationStrategy.WeightedRandom(new Random(7)))
            .AddNode("a", node => node.WithWeight(0))
            .AddNode("b", node => node.WithWeight(0));

        var exception = Assert.Throws<ArgumentException>(() => builder.Build());

        Assert.That(exception.Message, Does.Contain("weight 0"));
    }

    [Test]
    public async Task Build_WeightedRandomAndOneNodeWithWeight_RunsTasksOnlyThere()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseAllocation(AllocationStrategy.WeightedRandom(new Random(7)))
            .AddNode("zero", node => node.WithWeight(0).WithConcurrency(2))
            .AddNode("one", node => node.WithWeight(1).WithConcurrency(2))
            .Build();

        var handles = new List<TaskHandle<string>>();
        for (var i = 0; i < 50; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName)));
        }

        var nodes = await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(nodes, Is.All.EqualTo("one"));
    }

    [Test]
    public async Task SubmitAsync_PreferredTagNodeFree_RunsOnPreferredNode()
    {
        await using var dispatcher = GpuCpuDispatcher();
        var prefersGpu = new TaskOptions { PreferredTags = ["gpu"] };

        // Round-robin would alternate; the preference narrows the candidates to the gpu node every time it is free.
        for (var i = 0; i < 10; i++)
        {
            var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), prefersGpu);
            Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("gpu"), $"task {i}");
        }
    }

    [Test]
    public async Task SubmitAsync_PreferredTagNodeBusy_RunsOnOtherNode()
    {
        await using var dispatcher = GpuCpuDispatcher();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "gpu" });

        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { PreferredTags = ["gpu"] });
        var node = await handle.Completion.WaitAsync(TestTimeouts.Generous);
        await blocker.ReleaseAndWaitAsync();

        Assert.That(node, Is.EqualTo("cpu"));
        Assert.That(blocker.Handle.NodeName, Is.EqualTo("gpu"));
    }

    [Test]
    public async Task SubmitAsync_RequiredTags_StrategyOnlySeesNodesWithTheTag()
    {
        var strategy = new LastCandidateStrategy();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseAllocation(strategy)
            .AddNode("a", node => node.WithConcurrency(2).WithTags("x"))
            .AddNode("b", node => node.WithConcurrency(2))
            .AddNode("c", node => node.WithConcurrency(2).WithTags("x", "y"))
            .AddNode("d", node => node.WithConcurrency(2).WithTags("y"))
            .Build();

        var requiresX = new TaskOptions { RequiredTags = ["x"] };
        var handles = new List<TaskHandle<string>>();
        for (var i = 0; i < 200; i++)
        {
            // Some tasks yield so that nodes fill up and the candidate sets vary.
            handles.Add(await dispatcher.SubmitAsync(
                static async context =>
                {
                    await Task.Yield();
                    return context.NodeName;
                },
                requiresX));
        }

        var nodes = await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        var offered = strategy.Offered.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(offered, Is.Not.Empty);
            Assert.That(offered.Where(node => !node.Tags.Contains("x")).Select(node => node.Name).Distinct(), Is.Empty, "nodes without tag x offered");
            Assert.That(nodes, Is.All.AnyOf("a", "c"));
        });
    }

    [TestCase(ResourceFitMode.BestFit)]
    [TestCase(ResourceFitMode.Spread)]
    public async Task SubmitAsync_ResourceFitUnderStress_InFlightDemandNeverExceedsCapacity(ResourceFitMode mode)
    {
        const int TaskCount = 2_000;
        var capacity = new Dictionary<string, int>(StringComparer.Ordinal) { ["small"] = 4, ["large"] = 8 };
        var inFlight = new ConcurrentDictionary<string, StrongBox>(StringComparer.Ordinal);
        inFlight["small"] = new StrongBox();
        inFlight["large"] = new StrongBox();
        var violations = new ConcurrentQueue<string>();

        await using var dispatcher = new TaskDispatcherBuilder()
            .UseAllocation(AllocationStrategy.ResourceFit(mode))
            .AddNode("small", node => node.WithConcurrency(8).WithResource("cpu", 4))
            .AddNode("large", node => node.WithConcurrency(8).WithResource("cpu", 8))
            .Build();

        var random = new Random(4_711);
        var handles = new List<TaskHandle>(TaskCount);
        for (var i = 0; i < TaskCount; i++)
        {
            var demand = 1 + random.Next(4);
            var options = new TaskOptions { ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = demand } };
            handles.Add(await dispatcher.SubmitAsync(
                async context =>
                {
                    var box = inFlight[context.NodeName];
                    var now = Interlocked.Add(ref box.Value, demand);
                    if (now > capacity[context.NodeName])
                    {
                        violations.Enqueue($"{context.NodeName}: {now} cpu in flight, capacity {capacity[context.NodeName]}");
                    }

                    AtomicMax.Update(ref box.Max, now);
                    await Task.Yield();
                    Interlocked.Add(ref box.Value, -demand);
                },
                options));
        }

        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        TestContext.Out.WriteLine($"{mode}: max in flight small {inFlight["small"].Max}/4, large {inFlight["large"].Max}/8; tasks on small {handles.Count(h => h.NodeName == "small")}, on large {handles.Count(h => h.NodeName == "large")}");
        Assert.Multiple(() =>
        {
            Assert.That(violations, Is.Empty);
            Assert.That(handles.Select(h => h.State), Is.All.EqualTo(TaskState.Completed));
            Assert.That(inFlight["small"].Max, Is.LessThanOrEqualTo(4));
            Assert.That(inFlight["large"].Max, Is.LessThanOrEqualTo(8));
            Assert.That(inFlight["small"].Value + inFlight["large"].Value, Is.Zero);
        });
    }

    private static TaskDispatcher GpuCpuDispatcher() =>
        new TaskDispatcherBuilder()
            .AddNode("gpu", node => node.WithConcurrency(1).WithTags("gpu"))
            .AddNode("cpu", node => node.WithConcurrency(1))
            .Build();

    private sealed class StrongBox
    {
        public int Value;
        public int Max;
    }

    /// <summary>Always takes the last candidate and records every node it was offered.</summary>
    private sealed class LastCandidateStrategy : IAllocationStrategy
    {
        public ConcurrentQueue<NodeSnapshot> Offered { get; } = new();

        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            foreach (var candidate in candidates)
            {
                Offered.Enqueue(candidate);
            }

            return candidates.Length - 1;
        }
    }
}
