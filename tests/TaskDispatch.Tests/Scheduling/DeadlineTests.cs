using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Deadlines: earliest-deadline-first ordering end to end, and <see cref="TaskDispatcherOptions.FailExpiredDeadlines"/>
/// on a fake clock: a task whose deadline passed while it waited fails without running, or (by default) runs late.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class DeadlineTests
{
    [Test]
    public async Task EarliestDeadlineFirst_BacklogOnFakeClock_RunsByDeadlineAndAllMeetTheirDeadlines()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.EarliestDeadlineFirst(), failExpired: true);
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"));
        await work.WaitForStartAsync(0);
        var now = fake.GetUtcNow();
        var deadlines = new (string Name, int Seconds)[] { ("d40", 40), ("d10", 10), ("d30", 30), ("d20", 20), ("d20b", 20) };
        var handles = new List<TaskHandle>();
        foreach (var (name, seconds) in deadlines)
        {
            handles.Add(await dispatcher.SubmitAsync(work.For(name), new TaskOptions { Id = name, Deadline = now + TimeSpan.FromSeconds(seconds) }));
        }

        // Every task runs for 5 s of fake time; in EDF order each one starts before its deadline.
        var running = "blocker";
        for (var i = 1; i <= deadlines.Length; i++)
        {
            fake.Advance(TimeSpan.FromSeconds(5));
            work.Release(running);
            running = (await work.WaitForStartAsync(i)).Name;
        }

        work.Release(running);
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(work.Starts.Skip(1).Select(s => s.Name), Is.EqualTo(new[] { "d10", "d20", "d20b", "d30", "d40" }));
        Assert.That(handles.Select(h => h.State), Is.All.EqualTo(TaskState.Completed));
        foreach (var start in work.Starts.Skip(1))
        {
            var deadline = handles.Single(h => h.Id == start.Name).Options.Deadline!.Value;
            Assert.That(start.StartedAt, Is.LessThanOrEqualTo(deadline), $"{start.Name} started by its deadline");
        }
    }

    [Test]
    public async Task FailExpiredDeadlines_DeadlinePassesWhileWaitingBehindBlocker_FailsWithDeadlineExceededAndNeverRuns()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.EarliestDeadlineFirst(), failExpired: true);
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"));
        await work.WaitForStartAsync(0);
        var now = fake.GetUtcNow();

        var expiring = await dispatcher.SubmitAsync(work.For("expiring"), new TaskOptions { Deadline = now + TimeSpan.FromSeconds(5) });
        var inTime = await dispatcher.SubmitAsync(work.For("in-time"), new TaskOptions { Deadline = now + TimeSpan.FromSeconds(60) });
        var noDeadline = await dispatcher.SubmitAsync(work.For("no-deadline"));
        work.Release("in-time");
        work.Release("no-deadline");

        fake.Advance(TimeSpan.FromSeconds(10));
        work.Release("blocker");

        var thrown = await Assert.ThrowsAsync<DeadlineExceededException>(async () => await expiring);
        Assert.That(thrown!.Message, Does.Contain(expiring.Id));
        Assert.That(expiring.State, Is.EqualTo(TaskState.Failed));
        Assert.That(expiring.Exception, Is.SameAs(thrown));
        Assert.That(expiring.Attempts, Is.Zero);

        await inTime;
        await noDeadline;
        Assert.That(work.Starts.Select(s => s.Name), Is.EqualTo(new[] { "blocker", "in-time", "no-deadline" }), "the expired task never ran");
        Assert.That(work.Starts[1].StartedAt, Is.EqualTo(now + TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task FailExpiredDeadlinesOff_DeadlinePassesWhileWaiting_RunsLate()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.EarliestDeadlineFirst(), failExpired: false);
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"));
        await work.WaitForStartAsync(0);
        var deadline = fake.GetUtcNow() + TimeSpan.FromSeconds(5);

        var late = await dispatcher.SubmitAsync(work.For("late"), new TaskOptions { Deadline = deadline });
        work.Release("late");
        fake.Advance(TimeSpan.FromSeconds(10));
        work.Release("blocker");
        await late;

        Assert.That(late.State, Is.EqualTo(TaskState.Completed));
        Assert.That(late.Attempts, Is.EqualTo(1));
        Assert.That(work.Starts[1].Name, Is.EqualTo("late"));
        Assert.That(work.Starts[1].StartedAt, Is.EqualTo(deadline + TimeSpan.FromSeconds(5)), "it started 5 s after its deadline");
    }

    [Test]
    public void FailExpiredDeadlines_Default_IsOff()
    {
        Assert.That(new TaskDispatcherOptions().FailExpiredDeadlines, Is.False);
    }

    [Test]
    public async Task FailExpiredDeadlines_DeadlineExactlyNowWhenSlotFrees_RunsNormally()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.EarliestDeadlineFirst(), failExpired: true);
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"));
        await work.WaitForStartAsync(0);
        var deadline = fake.GetUtcNow() + TimeSpan.FromSeconds(5);

        var onTheDot = await dispatcher.SubmitAsync(work.For("on-the-dot"), new TaskOptions { Deadline = deadline });
        work.Release("on-the-dot");
        fake.Advance(TimeSpan.FromSeconds(5));
        work.Release("blocker");
        await onTheDot;

        Assert.That(onTheDot.State, Is.EqualTo(TaskState.Completed));
        Assert.That(work.Starts[1].StartedAt, Is.EqualTo(deadline));
    }

    [Test]
    public async Task FailExpiredDeadlines_FreeSlotAndDeadlineAhead_RunsAtOnce()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.EarliestDeadlineFirst(), failExpired: true);

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(7), new TaskOptions { Deadline = fake.GetUtcNow() + TimeSpan.FromMilliseconds(1) });

        Assert.That(await handle, Is.EqualTo(7));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task FailExpiredDeadlines_WithFirstComeFirstServed_AlsoShedsExpiredTasks()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.FirstComeFirstServed(), failExpired: true);
        var work = new StepwiseWork();
        await dispatcher.SubmitAsync(work.For("blocker"));
        await work.WaitForStartAsync(0);
        var now = fake.GetUtcNow();

        var expired = await dispatcher.SubmitAsync(work.For("expired"), new TaskOptions { Deadline = now + TimeSpan.FromSeconds(1) });
        var after = await dispatcher.SubmitAsync(work.For("after"));
        work.Release("after");
        fake.Advance(TimeSpan.FromSeconds(2));
        work.Release("blocker");

        await Assert.ThrowsAsync<DeadlineExceededException>(async () => await expired);
        await after;
        Assert.That(work.Starts.Select(s => s.Name), Is.EqualTo(new[] { "blocker", "after" }));
    }

    private static TaskDispatcher Build(FakeTimeProvider fake, ISchedulingPolicy policy, bool failExpired) =>
        new TaskDispatcherBuilder()
            .UseScheduling(policy)
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .Configure(o =>
            {
                o.FailExpiredDeadlines = failExpired;
                o.ShutdownMode = ShutdownMode.Cancel;
            })
            .Build();
}
