using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

/// <summary>Tasks that wait for the nodes that may run them (a required node, tags, resources) while another node has free
/// slots: the scheduler groups them by those nodes and looks at a group only while one of its nodes offers a slot. These
/// tests pin down what that must not change: their order, that each runs once, that one cancelled or left without a node
/// is taken out, that one that does not fit yet lets smaller ones behind it start and keeps its place, that a node joining
/// takes the work it can run, and that a deadline is still checked while the nodes stay busy.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class ParkedTaskTests
{
    [Test]
    public Task PinnedToABusyNodeWhileAnotherIdles_StartInOrderOnThatNodeAndEachRunsOnce() =>
        AssertABacklogForTheBusyNodeStartsInOrderThereAsync(new TaskOptions { RequiredNode = "a" });

    [Test]
    public Task NeedingATagOnlyABusyNodeHas_StartInOrderThereWhileTheOtherNodeIdles() =>
        AssertABacklogForTheBusyNodeStartsInOrderThereAsync(new TaskOptions { RequiredTags = ["gpu"] });

    [Test]
    public async Task CancelledWhileWaitingForItsNode_IsTakenOutAndTheOthersRunInOrder()
    {
        await using var dispatcher = TwoNodes(slotsOnA: 1);
        var work = new StepwiseWork();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });
        var sources = Enumerable.Range(0, 5).Select(static _ => new CancellationTokenSource()).ToArray();
        var handles = new List<TaskHandle>();
        for (var i = 0; i < 5; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(work.For($"t{i}"), new TaskOptions { RequiredNode = "a", CancellationToken = sources[i].Token }));
        }

        // t0 starts once the blocker ends, so the front of the node's waiting tasks has moved when t3 is cancelled.
        await sources[1].CancelAsync();
        await blocker.ReleaseAndWaitAsync();
        Assert.That((await work.WaitForStartAsync(0)).Name, Is.EqualTo("t0"));
        await sources[3].CancelAsync();
        foreach (var name in new[] { "t0", "t2", "t4" })
        {
            work.Release(name);
        }

        await AwaitEndsAsync(handles);

        Assert.That(work.Starts.Select(static start => start.Name), Is.EqualTo(new[] { "t0", "t2", "t4" }));
        Assert.That(handles.Select(static handle => handle.State), Is.EqualTo(new[] { TaskState.Completed, TaskState.Cancelled, TaskState.Completed, TaskState.Cancelled, TaskState.Completed }));
        foreach (var source in sources)
        {
            source.Dispose();
        }
    }

    [Test]
    public async Task PinnedToABusyNodeAmongMoreThan64_StartInOrderThereAndEachRunsOnceThoughANodeLeavesMeanwhile([Values(3, 69)] int busy)
    {
        // Node sets of more than 64 nodes take more than one word; removing n0 renumbers every node after it.
        var builder = new TaskDispatcherBuilder();
        for (var i = 0; i < 70; i++)
        {
            builder.AddNode($"n{i}", static node => node.WithConcurrency(1));
        }

        await using var dispatcher = builder.Build();
        var onlyTheBusyNode = new TaskOptions { RequiredNode = $"n{busy}" };
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, onlyTheBusyNode);
        var runs = new ConcurrentQueue<(int Index, string Node)>();
        var waiting = await SubmitRecordedAsync(dispatcher, 300, onlyTheBusyNode, runs);

        Assert.That(await await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredNode = "n65" }), Is.EqualTo("n65"));
        await dispatcher.RemoveNodeAsync("n0").WaitAsync(TestTimeouts.Generous);
        Assert.That(runs, Is.Empty, $"n{busy} stayed busy");

        await blocker.ReleaseAndWaitAsync();
        await Task.WhenAll(waiting.Select(static handle => handle.Completion)).WaitAsync(TestTimeouts.Generous);
        Assert.That(runs.Select(static run => run.Index), Is.EqualTo(Enumerable.Range(0, 300)));
        Assert.That(runs.Select(static run => run.Node), Is.All.EqualTo($"n{busy}"));
    }

    [Test]
    public Task ManyCancelledWhileWaitingForTheirNode_NeverRunAndTheOthersRunInOrderOnce() =>
        AssertManyCancelledWhileWaitingAsync(failExpiredDeadlines: false, deadline: null);

    [Test]
    public Task ManyWithDeadlinesCancelledWhileWaitingForTheirNode_NeverRunAndTheOthersRunInOrderOnce() =>
        AssertManyCancelledWhileWaitingAsync(failExpiredDeadlines: true, deadline: DateTimeOffset.UtcNow + TimeSpan.FromDays(1));

    [Test]
    public async Task ItsNodeRemovedWhileItWaits_FailsNamingWhyAndTheOtherNodeRunsOn()
    {
        await using var dispatcher = TwoNodes(slotsOnA: 1);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });
        var waiting = new List<TaskHandle>();
        for (var i = 0; i < 3; i++)
        {
            waiting.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { RequiredNode = "a" }));
        }

        var removing = dispatcher.RemoveNodeAsync("a");
        await blocker.ReleaseAndWaitAsync();
        await removing.WaitAsync(TestTimeouts.Generous);

        foreach (var handle in waiting)
        {
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
            Assert.That(failure?.Message, Does.Contain("can run task").And.Contain(handle.Id));
        }

        Assert.That(await (await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName))), Is.EqualTo("b"));
    }

    [Test]
    public async Task OneThatDoesNotFitItsNodeYet_LetsSmallerOnesBehindItStartAndKeepsItsPlace()
    {
        // Node a: 2 slots and 10 units of memory. t0 holds 8 units; t1 needs 8 and waits for them; t2 takes the second
        // slot, so t3 and t4 (1 unit each) wait behind t1 for a slot. Each slot t2, t3 then t4 frees goes past t1.
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static node => node.WithConcurrency(2).WithResource("memory", 10))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        var work = new StepwiseWork();
        var handles = new List<TaskHandle>();
        foreach (var (name, memory) in new[] { ("t0", 8), ("t1", 8), ("t2", 1), ("t3", 1), ("t4", 1), ("t5", 1) })
        {
            var started = work.StartCount;
            handles.Add(await dispatcher.SubmitAsync(work.For(name), new TaskOptions
            {
                RequiredNode = "a",
                ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) { ["memory"] = memory },
            }));

            // The first two start at once, one after the other, so that the order of starts is the test's to decide.
            if (name is "t0" or "t2")
            {
                await work.WaitForStartAsync(started);
            }
        }

        foreach (var (release, expected) in new[] { ("t2", "t3"), ("t3", "t4"), ("t4", "t5") })
        {
            var started = work.StartCount;
            work.Release(release);
            Assert.That((await work.WaitForStartAsync(started)).Name, Is.EqualTo(expected));
        }

        work.Release("t5");
        work.Release("t0");
        Assert.That((await work.WaitForStartAsync(5)).Name, Is.EqualTo("t1"));
        work.Release("t1");
        await Task.WhenAll(handles.Select(static handle => handle.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(work.Starts.Select(static start => start.Name), Is.EqualTo(new[] { "t0", "t2", "t3", "t4", "t5", "t1" }));
        Assert.That(handles.Select(static handle => handle.State), Is.All.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task WithADeadlinePinnedToABusyNode_FailsOnceTheDeadlinePassesThoughItsNodeStaysBusy()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(fake)
            .Configure(static options => options.FailExpiredDeadlines = true)
            .AddNode("a", static node => node.WithConcurrency(1))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"), new TaskOptions { RequiredNode = "a" });
        await work.WaitForStartAsync(0);
        var expiring = await dispatcher.SubmitAsync(work.For("expiring"), new TaskOptions { RequiredNode = "a", Deadline = fake.GetUtcNow() + TimeSpan.FromSeconds(5) });

        // A slot freed on the other node, after the deadline, is enough to notice it: node a never frees one.
        fake.Advance(TimeSpan.FromSeconds(10));
        await dispatcher.SubmitAsync(work.For("elsewhere"), new TaskOptions { RequiredNode = "b" });
        work.Release("elsewhere");

        try
        {
            await Assert.ThrowsAsync<DeadlineExceededException>(async () => await expiring.Completion.WaitAsync(TestTimeouts.Generous));
            Assert.That(work.Starts.Select(static start => start.Name), Does.Not.Contain("expiring"));
        }
        finally
        {
            work.Release("blocker");
        }
    }

    [Test]
    public async Task ANodeThatJoinsWhileTheyWait_TakesTheWorkItCanRun()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("gpu-1", static node => node.WithConcurrency(1).WithTags("gpu"))
            .AddNode("cpu", static node => node.WithConcurrency(1))
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredTags = ["gpu"] });
        var waiting = new List<TaskHandle<string>>();
        for (var i = 0; i < 20; i++)
        {
            waiting.Add(await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredTags = ["gpu"] }));
        }

        // gpu-1 stays busy: only the node that joins can run them.
        dispatcher.AddNode("gpu-2", static node => node.WithConcurrency(2).WithTags("gpu"));
        var nodes = new List<string>();
        foreach (var handle in waiting)
        {
            nodes.Add(await handle.Completion.WaitAsync(TestTimeouts.Generous));
        }

        Assert.That(nodes, Is.All.EqualTo("gpu-2"));
        await blocker.ReleaseAndWaitAsync();
    }

    [Test]
    public async Task WaitingForDifferentSetsOfNodes_StartInTheOrderTheyWereDequeued()
    {
        // x0 makes a group for node a first and is cancelled; then y1 (any gpu node) and x1 (node a) wait, in that order.
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static node => node.WithConcurrency(1).WithTags("gpu"))
            .AddNode("c", static node => node.WithConcurrency(1).WithTags("gpu"))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        var work = new StepwiseWork();
        var onA = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });
        var onC = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "c" });
        using var cancel = new CancellationTokenSource();
        var x0 = await dispatcher.SubmitAsync(work.For("x0"), new TaskOptions { RequiredNode = "a", CancellationToken = cancel.Token });
        await cancel.CancelAsync();
        var y1 = await dispatcher.SubmitAsync(work.For("y1"), new TaskOptions { RequiredTags = ["gpu"] });
        var x1 = await dispatcher.SubmitAsync(work.For("x1"), new TaskOptions { RequiredNode = "a" });

        await onA.ReleaseAndWaitAsync();
        Assert.That((await work.WaitForStartAsync(0)).Name, Is.EqualTo("y1"), "the first dequeued of the two takes node a's slot");
        work.Release("y1");
        Assert.That((await work.WaitForStartAsync(1)).Name, Is.EqualTo("x1"));
        work.Release("x1");
        await Task.WhenAll(y1.Completion, x1.Completion).WaitAsync(TestTimeouts.Generous);
        await onC.ReleaseAndWaitAsync();
        Assert.That(x0.State, Is.EqualTo(TaskState.Cancelled));
    }

    [Test]
    public async Task OneWithADeadlineAndOneWithout_ForTheSameNode_StartInTheOrderTheyWereDequeued()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static options => options.FailExpiredDeadlines = true)
            .AddNode("a", static node => node.WithConcurrency(1))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        var work = new StepwiseWork();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "a" });
        var first = await dispatcher.SubmitAsync(work.For("no-deadline"), new TaskOptions { RequiredNode = "a" });
        var second = await dispatcher.SubmitAsync(work.For("deadline"), new TaskOptions { RequiredNode = "a", Deadline = DateTimeOffset.UtcNow.AddHours(1) });

        await blocker.ReleaseAndWaitAsync();
        Assert.That((await work.WaitForStartAsync(0)).Name, Is.EqualTo("no-deadline"));
        work.Release("no-deadline");
        work.Release("deadline");
        await Task.WhenAll(first.Completion, second.Completion).WaitAsync(TestTimeouts.Generous);
        Assert.That(work.Starts.Select(static start => start.Name), Is.EqualTo(new[] { "no-deadline", "deadline" }));
    }

    /// <summary>Node a is busy and node b idles; 600 tasks pinned to a wait (grouped by their node, or, with a deadline the
    /// dispatcher checks, in the list every scan walks), then three in four are cancelled, in waves between which node b
    /// frees slots (scans that meet ended tasks), enough for their list to be rid of them in passes several times. Once a
    /// frees its slot, the others start there in the order they came, each once, and no cancelled one starts.</summary>
    private static async Task AssertManyCancelledWhileWaitingAsync(bool failExpiredDeadlines, DateTimeOffset? deadline)
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.FailExpiredDeadlines = failExpiredDeadlines)
            .AddNode("a", static node => node.WithConcurrency(1))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        var onlyNodeA = new TaskOptions { RequiredNode = "a", Deadline = deadline };
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, onlyNodeA);
        var runs = new ConcurrentQueue<(int Index, string Node)>();
        var waiting = await SubmitRecordedAsync(dispatcher, 600, onlyNodeA, runs);

        for (var wave = 0; wave < 3; wave++)
        {
            // First in, first out: once a task on b ran, every task before it was taken out of the queue and waits for a.
            Assert.That(await await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredNode = "b" }), Is.EqualTo("b"));
            for (var i = wave + 1; i < waiting.Count; i += 4)
            {
                Assert.That(waiting[i].Cancel(), Is.True, $"task {i} was still waiting");
            }
        }

        Assert.That(runs, Is.Empty, "node a stayed busy");
        await blocker.ReleaseAndWaitAsync();
        await AwaitEndsAsync(waiting);

        Assert.That(runs.Select(static run => run.Index), Is.EqualTo(Enumerable.Range(0, 150).Select(static i => i * 4)));
        Assert.That(waiting.Select(static handle => handle.State), Is.EqualTo(Enumerable.Range(0, 600).Select(static i => i % 4 == 0 ? TaskState.Completed : TaskState.Cancelled)));
    }

    /// <summary>Node a (tag "gpu", 1 slot) is busy and node b idles; 500 tasks that only a may run wait, b goes on taking
    /// other work, and once a frees its slot they start there in the order they came, each once.</summary>
    private static async Task AssertABacklogForTheBusyNodeStartsInOrderThereAsync(TaskOptions onlyNodeA)
    {
        await using var dispatcher = TwoNodes(slotsOnA: 1);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher, onlyNodeA);
        var runs = new ConcurrentQueue<(int Index, string Node)>();
        var waiting = await SubmitRecordedAsync(dispatcher, 500, onlyNodeA, runs);

        // The other node keeps taking work meanwhile: the waiting tasks hold nothing up.
        var elsewhere = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName));
        Assert.That(await elsewhere, Is.EqualTo("b"));
        Assert.That(runs, Is.Empty);

        await blocker.ReleaseAndWaitAsync();
        await Task.WhenAll(waiting.Select(static handle => handle.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(runs.Select(static run => run.Index), Is.EqualTo(Enumerable.Range(0, 500)));
        Assert.That(runs.Select(static run => run.Node), Is.All.EqualTo("a"));
        Assert.That(waiting.Select(static handle => handle.State), Is.All.EqualTo(TaskState.Completed));
    }

    /// <summary>Submits <paramref name="count"/> tasks with <paramref name="options"/>, each recording its index and node
    /// in <paramref name="runs"/> when it runs.</summary>
    private static async Task<List<TaskHandle>> SubmitRecordedAsync(ITaskDispatcher dispatcher, int count, TaskOptions options, ConcurrentQueue<(int Index, string Node)> runs)
    {
        var handles = new List<TaskHandle>(count);
        for (var i = 0; i < count; i++)
        {
            var index = i;
            handles.Add(await dispatcher.SubmitAsync(context =>
            {
                runs.Enqueue((index, context.NodeName));
                return ValueTask.CompletedTask;
            }, options));
        }

        return handles;
    }

    /// <summary>Waits until every handle ended; a cancelled one is an end like the others.</summary>
    private static async Task AwaitEndsAsync(IEnumerable<TaskHandle> handles)
    {
        foreach (var handle in handles)
        {
            try
            {
                await handle.Completion.WaitAsync(TestTimeouts.Generous);
            }
            catch (OperationCanceledException) when (handle.State == TaskState.Cancelled)
            {
            }
        }
    }

    private static TaskDispatcher TwoNodes(int slotsOnA) => new TaskDispatcherBuilder()
        .AddNode("a", node => node.WithConcurrency(slotsOnA).WithTags("gpu"))
        .AddNode("b", static node => node.WithConcurrency(1))
        .Build();
}
