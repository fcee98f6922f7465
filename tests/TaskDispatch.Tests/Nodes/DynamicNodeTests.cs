using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Nodes;

[TestFixture]
[CancelAfter(120_000)]
public sealed class DynamicNodeTests
{
    [Test]
    public async Task AddNode_WhileRunning_TakesWorkAtOnce()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(1)).Build();

        var added = dispatcher.AddNode("b", static n => n.WithConcurrency(2).WithTags("new"));
        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredTags = ["new"] });

        Assert.That(await handle, Is.EqualTo("b"));
        Assert.That(added.Name, Is.EqualTo("b"));
        Assert.That(dispatcher.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(added.Index, Is.EqualTo(1));
    }

    [Test]
    public async Task AddNode_DuplicateOrInvalid_ThrowsNamingTheArgument()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();

        var duplicate = Assert.Throws<ArgumentException>(() => dispatcher.AddNode("a"));
        var invalid = Assert.Throws<ArgumentOutOfRangeException>(() => dispatcher.AddNode("b", static n => n.WithConcurrency(0)));

        Assert.That(duplicate?.ParamName, Is.EqualTo("name"));
        Assert.That(invalid?.ParamName, Is.EqualTo("Nodes[b].MaxConcurrency"));
        Assert.That(dispatcher.Nodes, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task SetNodeHealth_Unavailable_NodeGetsNoWorkUntilHealthyAgain()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();

        dispatcher.SetNodeHealth("a", NodeHealth.Unavailable);
        var nodes = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            nodes.Add(await await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName)));
        }

        Assert.That(nodes, Is.All.EqualTo("b"));
        Assert.That(dispatcher.Nodes[0].Health, Is.EqualTo(NodeHealth.Unavailable));

        dispatcher.SetNodeHealth("a", NodeHealth.Healthy);
        var onA = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredNode = "a" });
        Assert.That(await onA, Is.EqualTo("a"));
    }

    [Test]
    public async Task SetNodeHealth_EveryNodeUnavailable_TasksWaitAndRunWhenOneHeals()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(1)).Build();
        dispatcher.SetNodeHealth("a", NodeHealth.Unavailable);

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));
        Assert.That(handle.State, Is.EqualTo(TaskState.Pending));

        dispatcher.SetNodeHealth("a", NodeHealth.Degraded);
        Assert.That(await handle, Is.EqualTo(1));
    }

    [Test]
    public async Task DrainNodeAsync_RunningTask_CompletesWhenItFinishesAndNoNewWorkArrives()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });

        var draining = dispatcher.DrainNodeAsync("a");
        var later = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName));

        Assert.That(await later, Is.EqualTo("b"));
        Assert.That(draining.IsCompleted, Is.False);
        await blocker.ReleaseAndWaitAsync();
        await draining.WaitAsync(TestTimeouts.Generous);
        Assert.That(dispatcher.Nodes[0].Health, Is.EqualTo(NodeHealth.Draining));
        Assert.That(dispatcher.Nodes[0].ActiveTasks, Is.Zero);
    }

    [Test]
    public async Task DrainNodeAsync_Twice_SecondWaitsForItsOwnTasks()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        await dispatcher.DrainNodeAsync("a").WaitAsync(TestTimeouts.Generous);
        dispatcher.SetNodeHealth("a", NodeHealth.Healthy);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });

        var second = dispatcher.DrainNodeAsync("a");

        Assert.That(second.IsCompleted, Is.False);
        await blocker.ReleaseAndWaitAsync();
        await second.WaitAsync(TestTimeouts.Generous);
    }

    [Test]
    public async Task RemoveNodeAsync_WaitingTaskOnlyItCouldRun_FailsInsteadOfWaitingForever()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static n => n.WithConcurrency(1).WithTags("gpu"))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });
        var waiting = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1), new TaskOptions { RequiredTags = ["gpu"] });
        var anywhere = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName));

        var removing = dispatcher.RemoveNodeAsync("a");
        await blocker.ReleaseAndWaitAsync();
        await removing.WaitAsync(TestTimeouts.Generous);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await waiting);
        Assert.That(failure?.Message, Does.Contain("can run task"));
        Assert.That(await anywhere, Is.EqualTo("b"));
        Assert.That(dispatcher.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "b" }));
        var rejected = Assert.ThrowsAsync<ArgumentException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { RequiredNode = "a" }));
        await rejected;
    }

    [Test]
    public async Task RemoveNodeAsync_LastOrUnknownNode_Throws()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("only").Build();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.RemoveNodeAsync("only"));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(async () => await dispatcher.RemoveNodeAsync("nope"));
        Assert.That(unknown?.ParamName, Is.EqualTo("name"));
        Assert.Throws<ArgumentOutOfRangeException>(() => dispatcher.SetNodeHealth("only", (NodeHealth)42));
    }

    [Test]
    public async Task Nodes_AddDrainRemoveWhileTasksFlow_NothingLostOrRunTwiceAndNoNodeOverloaded()
    {
        const int Total = 100_000;
        var runs = new int[Total];
        var inFlight = new ConcurrentDictionary<string, int>();
        var limits = new ConcurrentDictionary<string, int>(StringComparer.Ordinal) { ["base"] = 2 };
        var violations = 0;
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.MaxPendingTasks = 1_000)
            .AddNode("base", static n => n.WithConcurrency(2))
            .Build();

        using var stop = new CancellationTokenSource();
        var churn = Task.Run(async () =>
        {
            var generation = 0;
            while (!stop.IsCancellationRequested)
            {
                var name = $"extra-{generation++}";
                var slots = 1 + (generation % 3);
                limits[name] = slots;
                dispatcher.AddNode(name, n => n.WithConcurrency(slots));
                await Task.Yield();
                if (generation % 2 == 0)
                {
                    await dispatcher.DrainNodeAsync(name).WaitAsync(TestTimeouts.Generous);
                    dispatcher.SetNodeHealth(name, NodeHealth.Healthy);
                }

                await dispatcher.RemoveNodeAsync(name).WaitAsync(TestTimeouts.Generous);
            }

            return generation;
        });

        var handles = new TaskHandle[Total];
        for (var i = 0; i < Total; i++)
        {
            var index = i;
            handles[i] = await dispatcher.SubmitAsync(async context =>
            {
                Interlocked.Increment(ref runs[index]);
                var now = inFlight.AddOrUpdate(context.NodeName, 1, static (_, n) => n + 1);
                if (now > limits[context.NodeName])
                {
                    Interlocked.Increment(ref violations);
                }

                if ((index & 7) == 0)
                {
                    await Task.Yield();
                }

                inFlight.AddOrUpdate(context.NodeName, 0, static (_, n) => n - 1);
            });
        }

        foreach (var handle in handles)
        {
            await handle;
        }

        await stop.CancelAsync();
        var generations = await churn;
        TestContext.Out.WriteLine($"{generations} nodes were added and removed while {Total} tasks ran.");
        Assert.Multiple(() =>
        {
            Assert.That(runs, Is.All.EqualTo(1), "every task ran exactly once");
            Assert.That(handles.Select(static h => h.State), Is.All.EqualTo(TaskState.Completed));
            Assert.That(violations, Is.Zero, "no node ran more tasks than its slots");
            Assert.That(generations, Is.GreaterThan(0));
            Assert.That(dispatcher.LiveTaskCount, Is.Zero);
        });
    }
}
