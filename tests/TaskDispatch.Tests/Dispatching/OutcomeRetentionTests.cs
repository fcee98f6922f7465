using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

/// <summary>Ended tasks stay findable by id, with their outcome, for the retention period and up to the maximum count;
/// within it, a caller-given id is not run twice.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class OutcomeRetentionTests
{
    [Test]
    public async Task TryGetHandle_AfterTheTaskEnded_GivesStateResultAttemptsAndTimes()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        await using var dispatcher = new TaskDispatcherBuilder().UseTimeProvider(clock).Build();

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(42), new TaskOptions { Id = "report-7" });
        Assert.That(await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(42));

        Assert.That(dispatcher.TryGetHandle("report-7", out var found), Is.True);
        var ended = (TaskHandle<int>)found!;
        Assert.That(ended.State, Is.EqualTo(TaskState.Completed));
        Assert.That(await ended, Is.EqualTo(42));
        Assert.That(ended.Attempts, Is.EqualTo(1));
        Assert.That(ended.SubmittedAt, Is.EqualTo(clock.GetUtcNow()));
        Assert.That(ended.StartedAt, Is.EqualTo(clock.GetUtcNow()));
        Assert.That(ended.EndedAt, Is.EqualTo(clock.GetUtcNow()));
    }

    [Test]
    public async Task TryGetHandle_FailedTaskWithGeneratedId_GivesItsError()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();

        var handle = await dispatcher.SubmitAsync(static _ => throw new InvalidOperationException("card declined"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle.Completion.WaitAsync(TestTimeouts.Generous));

        Assert.That(dispatcher.TryGetHandle(handle.Id, out var found), Is.True);
        Assert.That(found!.State, Is.EqualTo(TaskState.Failed));
        Assert.That(found.Exception, Is.TypeOf<InvalidOperationException>().With.Message.EqualTo("card declined"));
        Assert.That(found.EndedAt, Is.Not.Null);
    }

    [Test]
    public async Task SubmitAsync_SameIdWithinRetention_ReturnsTheEndedTaskAndDoesNotRunAgain()
    {
        var clock = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(clock)
            .Configure(options => options.OutcomeRetention = TimeSpan.FromMinutes(10))
            .Build();
        var runs = 0;
        Func<TaskContext, ValueTask<int>> work = _ => ValueTask.FromResult(Interlocked.Increment(ref runs));
        var options = new TaskOptions { Id = "invoice-1" };

        var first = await dispatcher.SubmitAsync(work, options);
        await first.Completion.WaitAsync(TestTimeouts.Generous);

        clock.Advance(TimeSpan.FromMinutes(9));
        var second = await dispatcher.SubmitAsync(work, options);
        Assert.That(second, Is.SameAs(first));
        Assert.That(dispatcher.TrySubmit(work, options, out var third), Is.True);
        Assert.That(third, Is.SameAs(first));
        Assert.That(runs, Is.EqualTo(1));

        // Past the retention the id is free again, and the task is no longer found.
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.That(dispatcher.TryGetHandle("invoice-1", out _), Is.False);
        var fourth = await dispatcher.SubmitAsync(work, options);
        Assert.That(fourth, Is.Not.SameAs(first));
        Assert.That(await fourth.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(2));
    }

    [Test]
    public async Task TryGetHandle_MoreEndedTasksThanTheMaximum_KeepsTheLatest()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.MaxRetainedOutcomes = 4)
            .AddNode("only", node => node.WithConcurrency(1))
            .Build();

        var handles = new List<TaskHandle>();
        for (var i = 0; i < 10; i++)
        {
            var handle = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Id = $"job-{i}" });
            await handle.Completion.WaitAsync(TestTimeouts.Generous);
            handles.Add(handle);
        }

        // One slot ends the tasks in order; whichever processors they ended on, at most four are kept, the latest among them.
        var kept = Enumerable.Range(0, 10).Where(i => dispatcher.TryGetHandle($"job-{i}", out _)).ToList();
        Assert.That(kept, Has.Count.InRange(1, 4));
        Assert.That(kept, Does.Contain(9));
    }

    [Test]
    public async Task TryGetHandle_RetentionZero_ForgetsATaskWhenItEnds()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Configure(options => options.OutcomeRetention = TimeSpan.Zero).Build();
        var runs = 0;
        Func<TaskContext, ValueTask> work = _ =>
        {
            Interlocked.Increment(ref runs);
            return ValueTask.CompletedTask;
        };

        var first = await dispatcher.SubmitAsync(work, new TaskOptions { Id = "x" });
        await first.Completion.WaitAsync(TestTimeouts.Generous);
        Assert.That(dispatcher.TryGetHandle("x", out _), Is.False);
        Assert.That(dispatcher.TryGetHandle(first.Id, out _), Is.False);

        var again = await dispatcher.SubmitAsync(work, new TaskOptions { Id = "x" });
        await again.Completion.WaitAsync(TestTimeouts.Generous);
        Assert.That(runs, Is.EqualTo(2));
    }

    [Test]
    public async Task ResubmitAsync_FromTheDeadLetters_TakesOverTheRetainedId()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var runs = 0;
        var handle = await dispatcher.SubmitAsync(
            _ => Interlocked.Increment(ref runs) == 1 ? throw new InvalidOperationException("first run fails") : ValueTask.CompletedTask,
            new TaskOptions { Id = "retry-me" });
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle.Completion.WaitAsync(TestTimeouts.Generous));

        var resubmitted = await dispatcher.DeadLetters.ResubmitAsync("retry-me");
        await resubmitted.Completion.WaitAsync(TestTimeouts.Generous);

        Assert.That(runs, Is.EqualTo(2));
        Assert.That(dispatcher.TryGetHandle("retry-me", out var found), Is.True);
        Assert.That(found, Is.SameAs(resubmitted));
        Assert.That(found!.State, Is.EqualTo(TaskState.Completed));
    }

    [TestCase(-1)]
    public void Build_NegativeMaximum_ThrowsNamingIt(int maximum)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new TaskDispatcherBuilder().Configure(options => options.MaxRetainedOutcomes = maximum).Build());
        Assert.That(exception!.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.MaxRetainedOutcomes)));
    }

    [Test]
    public void Build_NegativeRetention_ThrowsNamingIt()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new TaskDispatcherBuilder().Configure(options => options.OutcomeRetention = TimeSpan.FromSeconds(-1)).Build());
        Assert.That(exception!.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.OutcomeRetention)));
    }
}
