using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Each policy end to end: one slot held by a blocker, a known backlog queued behind it, then the exact order
/// in which the backlog runs once the slot frees.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class SchedulingOrderTests
{
    private const int CancellationBacklog = 10_000;

    private static readonly DateTimeOffset s_farFuture = DateTimeOffset.UtcNow + TimeSpan.FromHours(1);

    [Test]
    public async Task FirstComeFirstServed_MixedOptions_RunsInArrivalOrder()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.FirstComeFirstServed(),
            ("a", new TaskOptions { Priority = 1 }),
            ("b", new TaskOptions { Priority = 9, EstimatedDuration = TimeSpan.FromSeconds(9) }),
            ("c", new TaskOptions { EstimatedDuration = TimeSpan.Zero }),
            ("d", new TaskOptions { Deadline = s_farFuture }),
            ("e", new TaskOptions { FairnessKey = "x", Priority = -3 }));

        Assert.That(order, Is.EqualTo(new[] { "a", "b", "c", "d", "e" }));
    }

    [Test]
    public async Task ShortestJobFirst_GivenEstimates_RunsShortestFirstAndTiesInArrivalOrder()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.ShortestJobFirst(o => o.DefaultEstimate = TimeSpan.FromMilliseconds(250)),
            ("a", new TaskOptions { EstimatedDuration = TimeSpan.FromMilliseconds(500) }),
            ("b", new TaskOptions { EstimatedDuration = TimeSpan.FromMilliseconds(100) }),
            ("c", new TaskOptions { Kind = "never-seen" }),
            ("d", new TaskOptions { EstimatedDuration = TimeSpan.FromMilliseconds(100) }),
            ("e", new TaskOptions { EstimatedDuration = TimeSpan.Zero }),
            ("f", new TaskOptions { EstimatedDuration = TimeSpan.FromSeconds(2) }));

        // c has no estimate and an unseen kind: DefaultEstimate (250 ms) places it between 100 ms and 500 ms.
        Assert.That(order, Is.EqualTo(new[] { "e", "b", "d", "c", "a", "f" }));
    }

    [Test]
    public async Task Priority_Strict_RunsHighestFirstAndTiesInArrivalOrder()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.Priority(),
            ("a", new TaskOptions { Priority = 1 }),
            ("b", new TaskOptions { Priority = 5 }),
            ("c", new TaskOptions { Priority = 3 }),
            ("d", new TaskOptions { Priority = 5 }),
            ("e", new TaskOptions { Priority = -2 }),
            ("f", new TaskOptions { Priority = 3 }));

        Assert.That(order, Is.EqualTo(new[] { "b", "d", "c", "f", "a", "e" }));
    }

    [Test]
    public async Task EarliestDeadlineFirst_TasksWithoutDeadlineLast_RunsByDeadlineThenDeadlineFreeInArrivalOrder()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.EarliestDeadlineFirst(o => o.TasksWithoutDeadline = DeadlineFreeTaskOrder.Last),
            DeadlineBacklog());

        Assert.That(order, Is.EqualTo(new[] { "c", "f", "d", "a", "b", "e" }));
    }

    [Test]
    public async Task EarliestDeadlineFirst_TasksWithoutDeadlineFirst_RunsDeadlineFreeInArrivalOrderThenByDeadline()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.EarliestDeadlineFirst(o => o.TasksWithoutDeadline = DeadlineFreeTaskOrder.First),
            DeadlineBacklog());

        Assert.That(order, Is.EqualTo(new[] { "b", "e", "c", "f", "d", "a" }));
    }

    [Test]
    public async Task WeightedFairShare_TwoKeysWeightedTwoToOne_InterleavesByStrideAndKeepsFifoWithinKey()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.WeightedFairShare(o =>
            {
                o.Weights["A"] = 2;
                o.Weights["B"] = 1;
            }),
            ("a1", new TaskOptions { FairnessKey = "A" }),
            ("a2", new TaskOptions { FairnessKey = "A" }),
            ("a3", new TaskOptions { FairnessKey = "A" }),
            ("a4", new TaskOptions { FairnessKey = "A" }),
            ("b1", new TaskOptions { FairnessKey = "B" }),
            ("b2", new TaskOptions { FairnessKey = "B" }),
            ("b3", new TaskOptions { FairnessKey = "B" }),
            ("b4", new TaskOptions { FairnessKey = "B" }));

        // Passes: A grows by 1/2 per turn, B by 1; equal passes go to the key whose turn was queued first.
        Assert.That(order, Is.EqualTo(new[] { "a1", "b1", "a2", "b2", "a3", "a4", "b3", "b4" }));
    }

    [Test]
    public async Task PriorityBandsOfWeightedFairShare_TwoBands_HigherBandFirstAndKeysAlternateWithinBand()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.PriorityBands(() => SchedulingPolicy.WeightedFairShare()),
            ("x-a1", new TaskOptions { Priority = 0, FairnessKey = "A" }),
            ("y-a1", new TaskOptions { Priority = 2, FairnessKey = "A" }),
            ("x-a2", new TaskOptions { Priority = 0, FairnessKey = "A" }),
            ("y-a2", new TaskOptions { Priority = 2, FairnessKey = "A" }),
            ("x-b1", new TaskOptions { Priority = 0, FairnessKey = "B" }),
            ("y-b1", new TaskOptions { Priority = 2, FairnessKey = "B" }),
            ("x-b2", new TaskOptions { Priority = 0, FairnessKey = "B" }));

        Assert.That(order, Is.EqualTo(new[] { "y-a1", "y-b1", "y-a2", "x-a1", "x-b1", "x-a2", "x-b2" }));
    }

    [Test]
    public async Task PriorityBandsOfShortestJobFirst_ThreeBands_HigherBandFirstAndShortestFirstWithinBand()
    {
        var order = await RunBacklogAsync(
            SchedulingPolicy.PriorityBands(() => SchedulingPolicy.ShortestJobFirst()),
            ("p0-50ms", new TaskOptions { Priority = 0, EstimatedDuration = TimeSpan.FromMilliseconds(50) }),
            ("p1-300ms", new TaskOptions { Priority = 1, EstimatedDuration = TimeSpan.FromMilliseconds(300) }),
            ("p5-1s", new TaskOptions { Priority = 5, EstimatedDuration = TimeSpan.FromSeconds(1) }),
            ("p1-100ms", new TaskOptions { Priority = 1, EstimatedDuration = TimeSpan.FromMilliseconds(100) }),
            ("p0-10ms", new TaskOptions { Priority = 0, EstimatedDuration = TimeSpan.FromMilliseconds(10) }),
            ("p1-200ms", new TaskOptions { Priority = 1, EstimatedDuration = TimeSpan.FromMilliseconds(200) }));

        Assert.That(order, Is.EqualTo(new[] { "p5-1s", "p1-100ms", "p1-200ms", "p1-300ms", "p0-10ms", "p0-50ms" }));
    }

    [TestCaseSource(nameof(AllPolicies))]
    public async Task Cancel_HalfOfLargeBacklogWhileSlotBlocked_LeavesPolicyAtOnceAndRestRunInOrder(Func<ISchedulingPolicy> createPolicy)
    {
        var policy = new ObservedSchedulingPolicy(createPolicy());
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseScheduling(policy)
            .AddNode("n", n => n.WithConcurrency(1))
            .Configure(o =>
            {
                o.MaxPendingTasks = 2 * CancellationBacklog;
                o.ShutdownMode = ShutdownMode.Cancel;
            })
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var ran = new ConcurrentQueue<int>();
        var handles = new TaskHandle[CancellationBacklog];
        for (var i = 0; i < handles.Length; i++)
        {
            var index = i;
            handles[i] = await dispatcher.SubmitAsync(_ =>
            {
                ran.Enqueue(index);
                return ValueTask.CompletedTask;
            });
        }

        for (var i = 0; i < handles.Length; i += 2)
        {
            Assert.That(handles[i].Cancel(), Is.True, $"task {i} was still waiting");
        }

        var cancelled = handles.Where((_, i) => i % 2 == 0).ToArray();
        var live = handles.Where((_, i) => i % 2 == 1).ToArray();
        Assert.That(cancelled.Select(h => h.State), Is.All.EqualTo(TaskState.Cancelled));

        // Promptly: while the slot is still blocked, the policy comes to hold exactly the live tasks.
        await TestTimeouts.WaitUntilAsync(
            () => policy.QueuedCount == live.Length && Array.TrueForAll(live, policy.Holds),
            "the policy holds exactly the tasks that were not cancelled");
        Assert.That(blocker.Handle.State, Is.EqualTo(TaskState.Running), "the slot was still blocked");
        Assert.That(cancelled.Any(policy.Holds), Is.False);

        await blocker.ReleaseAndWaitAsync();
        await Task.WhenAll(live.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(ran, Is.EqualTo(Enumerable.Range(0, CancellationBacklog).Where(i => i % 2 == 1)));
        Assert.That(cancelled.Select(h => h.Attempts), Is.All.Zero);
        Assert.That(live.Select(h => h.State), Is.All.EqualTo(TaskState.Completed));
        Assert.That(policy.Count, Is.Zero);
    }

    private static IEnumerable<TestCaseData> AllPolicies()
    {
        yield return Case("FirstComeFirstServed", () => SchedulingPolicy.FirstComeFirstServed());
        yield return Case("ShortestJobFirst", () => SchedulingPolicy.ShortestJobFirst());
        yield return Case("Priority", () => SchedulingPolicy.Priority());
        yield return Case("PriorityWithAging", () => SchedulingPolicy.Priority(o => o.AgingInterval = TimeSpan.FromSeconds(1)));
        yield return Case("EarliestDeadlineFirst", () => SchedulingPolicy.EarliestDeadlineFirst());
        yield return Case("WeightedFairShare", () => SchedulingPolicy.WeightedFairShare());
        yield return Case("PriorityBandsOfWeightedFairShare", () => SchedulingPolicy.PriorityBands(() => SchedulingPolicy.WeightedFairShare()));
        yield return Case("PriorityBandsOfShortestJobFirst", () => SchedulingPolicy.PriorityBands(() => SchedulingPolicy.ShortestJobFirst()));

        static TestCaseData Case(string name, Func<ISchedulingPolicy> create) => new TestCaseData(create).SetArgDisplayNames(name);
    }

    private static (string Name, TaskOptions Options)[] DeadlineBacklog() =>
    [
        ("a", new TaskOptions { Deadline = s_farFuture + TimeSpan.FromSeconds(30) }),
        ("b", new TaskOptions()),
        ("c", new TaskOptions { Deadline = s_farFuture + TimeSpan.FromSeconds(10) }),
        ("d", new TaskOptions { Deadline = s_farFuture + TimeSpan.FromSeconds(20) }),
        ("e", new TaskOptions { Priority = 7 }),
        ("f", new TaskOptions { Deadline = s_farFuture + TimeSpan.FromSeconds(10) }),
    ];

    /// <summary>Queues <paramref name="backlog"/> behind a blocker on a single slot, frees the slot and returns the order the backlog ran in.</summary>
    private static async Task<string[]> RunBacklogAsync(ISchedulingPolicy policy, params (string Name, TaskOptions Options)[] backlog)
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseScheduling(policy)
            .AddNode("n", n => n.WithConcurrency(1))
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var order = new ConcurrentQueue<string>();
        var handles = new List<TaskHandle>();
        foreach (var (name, options) in backlog)
        {
            handles.Add(await dispatcher.SubmitAsync(
                _ =>
                {
                    order.Enqueue(name);
                    return ValueTask.CompletedTask;
                },
                options));
        }

        Assert.That(handles.Select(h => h.State), Is.All.EqualTo(TaskState.Pending), "the backlog waits behind the blocker");

        await blocker.ReleaseAndWaitAsync();
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);
        return [.. order];
    }
}
