using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Nodes;

/// <summary>What strategies, executors and callers get of a node is an immutable view: it never changes under them and
/// nothing done to it reaches the engine.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class NodeSnapshotTests
{
    [Test]
    public async Task Nodes_ViewTakenBeforeWorkStarts_KeepsWhatItSawWhileTheNodeFillsUp()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(2).WithResource("cpu", 4)).Build();
        var before = dispatcher.Nodes[0];

        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["cpu"] = 3 } });
        var during = dispatcher.Nodes[0];

        Assert.That(before.ActiveTasks, Is.Zero);
        Assert.That(before.ResourcesInUse, Is.Empty);
        Assert.That(during.ActiveTasks, Is.EqualTo(1));
        Assert.That(during.ResourcesInUse["cpu"], Is.EqualTo(3));
        Assert.That(during.TasksAssigned, Is.EqualTo(1));
        await blocker.ReleaseAndWaitAsync();
        Assert.That(during.ActiveTasks, Is.EqualTo(1), "a view does not follow the node");
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].ActiveTasks == 0, "the slot to be freed");
    }

    [Test]
    public async Task SelectNode_StrategyKeepsTheViewsItWasGiven_TheyStayAsTheyWereAtTheDecision()
    {
        var strategy = new KeepingStrategy();
        await using var dispatcher = new TaskDispatcherBuilder().UseAllocation(strategy).AddNode("a", static n => n.WithConcurrency(4)).Build();

        for (var i = 0; i < 4; i++)
        {
            await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        }

        await dispatcher.StopAsync(ShutdownMode.Drain).WaitAsync(TestTimeouts.Generous);

        Assert.That(strategy.Seen.Select(static v => v.TasksAssigned), Is.EqualTo(new long[] { 0, 1, 2, 3 }), "each decision saw the count before it");
    }

    [Test]
    public void With_ChangedLoad_MakesANewViewAndLeavesTheOriginal()
    {
        var idle = new NodeSnapshot("edge", 7, new NodeOptions().WithConcurrency(8).WithWeight(2).WithResource("gpu", 2));

        var busy = idle with { ActiveTasks = 6, ResourcesInUse = new Dictionary<string, double> { ["gpu"] = 1.5 }, Health = NodeHealth.Degraded };

        Assert.That((idle.ActiveTasks, idle.Load, idle.Health), Is.EqualTo((0, 0.0, NodeHealth.Healthy)));
        Assert.That((busy.ActiveTasks, busy.FreeSlots, busy.Load, busy.Health), Is.EqualTo((6, 2, 0.75, NodeHealth.Degraded)));
        var gpu = new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["gpu"] = 1 } }.DemandedResources[0];
        Assert.That((busy.CapacityOf(gpu), busy.InUseOf(gpu), idle.InUseOf(gpu)), Is.EqualTo((2.0, 1.5, 0.0)));
        Assert.That((busy.Name, busy.Index, busy.Weight), Is.EqualTo(("edge", 7, 2.0)));
    }

    [Test]
    public async Task ExecuteAsync_ExecutorGetsAViewOfItsNode()
    {
        var executor = new RecordingExecutor();
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("remote", n => n.WithConcurrency(1).WithExecutor(executor)).Build();

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous);

        var seen = executor.Seen.Single();
        Assert.That((seen.Name, seen.ActiveTasks, seen.MaxConcurrency), Is.EqualTo(("remote", 1, 1)));
    }

    /// <summary>Keeps every view it is offered, and takes the first.</summary>
    private sealed class KeepingStrategy : IAllocationStrategy
    {
        public ConcurrentQueue<NodeSnapshot> Seen { get; } = new();

        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            Seen.Enqueue(candidates[0]);
            return 0;
        }
    }

    /// <summary>Runs attempts locally and records the node view each one was given.</summary>
    private sealed class RecordingExecutor : INodeExecutor
    {
        public ConcurrentQueue<NodeSnapshot> Seen { get; } = new();

        public ValueTask ExecuteAsync(NodeAttempt attempt)
        {
            Seen.Enqueue(attempt.Node);
            return attempt.RunLocallyAsync();
        }
    }
}
