using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Priority with aging: a waiting task gains one level per <see cref="PriorityPolicyOptions.AgingInterval"/>,
/// so a low-priority task starts within <c>(P - p) × AgingInterval</c> (plus the time until a slot frees) however much
/// high-priority work keeps arriving. Driven on a fake clock: every high-priority task "runs" for exactly one second.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class AgingTests
{
    private const int StreamLength = 30;

    private static readonly TimeSpan s_taskDuration = TimeSpan.FromSeconds(1);

    [TestCase(1_000, 10, 0)]
    [TestCase(500, 4, 1)]
    [TestCase(250, 20, 0)]
    public async Task Priority_LowTaskUnderContinuousHighPriorityStream_StartsWithinAgingBound(int agingIntervalMs, int high, int low)
    {
        var interval = TimeSpan.FromMilliseconds(agingIntervalMs);
        var bound = (high - low) * interval;
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.Priority(o => o.AgingInterval = interval));
        var work = new StepwiseWork();

        var lowStart = await RunStreamAsync(dispatcher, fake, work, high, low, StreamLength);

        TestContext.Out.WriteLine($"bound {bound.TotalSeconds} s; the low task waited {lowStart.Wait.TotalSeconds} s, behind {lowStart.HighTasksBefore} high-priority task(s)");
        Assert.That(lowStart.Started, Is.True, $"the low task never started during a stream of {StreamLength} tasks");
        Assert.That(lowStart.Wait, Is.GreaterThanOrEqualTo(bound), "aging is not faster than the settings say");
        Assert.That(lowStart.Wait, Is.LessThanOrEqualTo(bound + s_taskDuration), "the low task started within the bound plus one running task");
    }

    [Test]
    public async Task Priority_WithoutAgingUnderContinuousHighPriorityStream_LowTaskNeverStartsWhileStreamLasts()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.Priority());
        var work = new StepwiseWork();

        var lowStart = await RunStreamAsync(dispatcher, fake, work, high: 10, low: 0, StreamLength);

        Assert.That(lowStart.Started, Is.False, "strict priority starves the low task while high-priority work keeps coming");
        Assert.That(work.Starts.Select(s => s.Name), Is.EqualTo(new[] { "blocker" }.Concat(Enumerable.Range(1, StreamLength).Select(k => $"high{k}"))));

        // The stream ends: the running high task finishes and nothing new arrives, so the low task runs at last.
        fake.Advance(s_taskDuration);
        work.Release($"high{StreamLength}");
        var (name, startedAt) = await work.WaitForStartAsync(StreamLength + 1);

        Assert.That(name, Is.EqualTo("low"));
        Assert.That(startedAt - lowStart.SubmittedAt, Is.EqualTo((StreamLength + 1) * s_taskDuration));
        work.Release("low");
    }

    [Test]
    public void Enqueue_TasksWithChosenReadyAt_DequeueOrderIsPriorityMinusReadyAtOverInterval()
    {
        var policy = new PriorityPolicy(new PriorityPolicyOptions { AgingInterval = TimeSpan.FromSeconds(1) });
        var t = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

        // Effective order key: Priority - ReadyAt / 1 s, relative to t.
        var a = PolicyTasks.Create(new TaskOptions { Priority = 5 }, t, "a"); // 5
        var b = PolicyTasks.Create(new TaskOptions { Priority = 0 }, t - TimeSpan.FromSeconds(10), "b"); // 10
        var c = PolicyTasks.Create(new TaskOptions { Priority = 3 }, t - TimeSpan.FromSeconds(1), "c"); // 4
        var d = PolicyTasks.Create(new TaskOptions { Priority = 7 }, t + TimeSpan.FromSeconds(1), "d"); // 6
        var e = PolicyTasks.Create(new TaskOptions { Priority = 2 }, t - TimeSpan.FromSeconds(2.5), "e"); // 4.5
        var f = PolicyTasks.Create(new TaskOptions { Priority = 9 }, t + TimeSpan.FromSeconds(6), "f"); // 3
        var g = PolicyTasks.Create(new TaskOptions { Priority = -20 }, t - TimeSpan.FromSeconds(30.5), "g"); // 10.5
        foreach (var task in new[] { a, b, c, d, e, f, g })
        {
            policy.Enqueue(task);
        }

        Assert.That(PolicyTasks.Drain(policy).Select(x => x.Id), Is.EqualTo(new[] { "g", "b", "d", "a", "e", "c", "f" }));
    }

    [Test]
    public void Enqueue_SamePriorityAndReadyAt_DequeuesInArrivalOrder()
    {
        var policy = new PriorityPolicy(new PriorityPolicyOptions { AgingInterval = TimeSpan.FromMilliseconds(100) });
        var readyAt = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var tasks = Enumerable.Range(0, 50).Select(i => PolicyTasks.Create(new TaskOptions { Priority = 3 }, readyAt, $"t{i}")).ToArray();
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }

        Assert.That(PolicyTasks.Drain(policy), Is.EqualTo(tasks));
    }

    [Test]
    public void Enqueue_WithoutAging_ReadyAtIsIgnored()
    {
        var policy = new PriorityPolicy();
        var t = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var oldLow = PolicyTasks.Create(new TaskOptions { Priority = 0 }, t - TimeSpan.FromDays(365), "old-low");
        var newHigh = PolicyTasks.Create(new TaskOptions { Priority = 1 }, t, "new-high");
        var oldHigh = PolicyTasks.Create(new TaskOptions { Priority = 1 }, t - TimeSpan.FromDays(1), "old-high");
        policy.Enqueue(oldLow);
        policy.Enqueue(newHigh);
        policy.Enqueue(oldHigh);

        // Without aging, ties go by arrival (sequence), not by ReadyAt.
        Assert.That(PolicyTasks.Drain(policy).Select(x => x.Id), Is.EqualTo(new[] { "new-high", "old-high", "old-low" }));
    }

    [Test]
    public void Enqueue_LowTaskAgainstLaterHighTasks_OvertakesExactlyThoseReadyMoreThanBoundAfterIt()
    {
        // Aging fixes the order at enqueue: a task of priority 0 ready at t runs before a task of priority 10 exactly
        // when the latter became ready more than 10 intervals after t.
        var policy = new PriorityPolicy(new PriorityPolicyOptions { AgingInterval = TimeSpan.FromSeconds(1) });
        var t = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var low = PolicyTasks.Create(new TaskOptions { Priority = 0 }, t, "low");
        policy.Enqueue(low);
        foreach (var offset in new[] { 0.5, 9.5, 10.5, 20.0 })
        {
            policy.Enqueue(PolicyTasks.Create(new TaskOptions { Priority = 10 }, t + TimeSpan.FromSeconds(offset), $"high@{offset}"));
        }

        Assert.That(PolicyTasks.Drain(policy).Select(x => x.Id), Is.EqualTo(new[] { "high@0.5", "high@9.5", "low", "high@10.5", "high@20" }));
    }

    [Test]
    public async Task Priority_DelayedTask_AgesFromReadyAtNotFromSubmission()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.Priority(o => o.AgingInterval = TimeSpan.FromSeconds(1)));
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"));
        await work.WaitForStartAsync(0);

        // Submitted at 0 but ready at 5 s: its key is 0 - 5 = -5, below a priority-0 task that became ready at 3 s (-3).
        var delayed = await dispatcher.SubmitAsync(work.For("delayed"), new TaskOptions { Delay = TimeSpan.FromSeconds(5) });
        fake.Advance(TimeSpan.FromSeconds(3));
        await dispatcher.SubmitAsync(work.For("later"));
        fake.Advance(TimeSpan.FromSeconds(2)); // the delayed task's timer fires now and queues it behind the blocker

        Assert.That(delayed.ReadyAt, Is.EqualTo(delayed.SubmittedAt + TimeSpan.FromSeconds(5)));
        work.Release("blocker");
        Assert.That((await work.WaitForStartAsync(1)).Name, Is.EqualTo("later"));
        work.Release("later");
        Assert.That((await work.WaitForStartAsync(2)).Name, Is.EqualTo("delayed"));
        work.Release("delayed");
    }

    /// <summary>
    /// One slot. A blocker runs; the low task is submitted at time 0; then every second one high-priority task arrives
    /// just before the running task finishes, so a high task is always waiting. Stops when the low task starts or after
    /// <paramref name="length"/> high tasks.
    /// </summary>
    private static async Task<LowStart> RunStreamAsync(TaskDispatcher dispatcher, FakeTimeProvider fake, StepwiseWork work, int high, int low, int length)
    {
        await dispatcher.SubmitAsync(work.For("blocker"), new TaskOptions { Priority = high });
        await work.WaitForStartAsync(0);
        var lowHandle = await dispatcher.SubmitAsync(work.For("low"), new TaskOptions { Priority = low });
        var running = "blocker";
        for (var k = 1; k <= length; k++)
        {
            fake.Advance(s_taskDuration);

            // Queued before the slot frees (no step takes it while the slot is busy), so it competes for this very slot.
            await dispatcher.SubmitAsync(work.For($"high{k}"), new TaskOptions { Priority = high });
            work.Release(running);
            var (name, startedAt) = await work.WaitForStartAsync(k);
            if (name == "low")
            {
                return new LowStart(true, lowHandle.SubmittedAt, startedAt - lowHandle.SubmittedAt, k - 1);
            }

            Assert.That(name, Is.EqualTo($"high{k}"), "high tasks run in arrival order");
            running = name;
        }

        return new LowStart(false, lowHandle.SubmittedAt, TimeSpan.Zero, length);
    }

    private static TaskDispatcher Build(FakeTimeProvider fake, ISchedulingPolicy policy) =>
        new TaskDispatcherBuilder()
            .UseScheduling(policy)
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)

            // A test that fails half-way must not leave its dispatcher draining against a clock nobody advances.
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();

    private sealed record LowStart(bool Started, DateTimeOffset SubmittedAt, TimeSpan Wait, int HighTasksBefore);
}
