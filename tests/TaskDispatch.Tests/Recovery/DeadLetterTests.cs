namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class DeadLetterTests
{
    [Test]
    public async Task TaskThatExhaustsItsAttempts_IsListedWithEveryAttemptsError()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 2; o.Delay = TimeSpan.Zero; }))
            .Build();

        var handle = await dispatcher.SubmitAsync(static context => throw new IOException($"attempt {context.Attempt} failed"), new TaskOptions { Id = "poison" });
        var thrown = await Assert.ThrowsAsync<IOException>(async () => await handle);

        Assert.That(thrown?.Message, Is.EqualTo("attempt 3 failed"), "awaiting throws the last attempt's exception");
        Assert.That(handle.AttemptFailures.Select(static f => f.Exception.Message), Is.EqualTo(new[] { "attempt 1 failed", "attempt 2 failed", "attempt 3 failed" }));
        Assert.That(handle.AttemptFailures.Select(static f => f.Attempt), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(handle.AttemptFailures, Has.All.Matches<AttemptFailure>(static f => f is { IsNodeFault: false, NodeName: TaskDispatcherDefaults.NodeName }));
        Assert.That(dispatcher.DeadLetters.TryGet("poison", out var listed), Is.True);
        Assert.That(listed, Is.SameAs(handle));
        Assert.That(dispatcher.DeadLetters.TotalCount, Is.EqualTo(1));
    }

    [Test]
    public async Task CompletedAndCancelledTasks_AreNotDeadLetters()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();

        await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        var cancelled = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Delay = TimeSpan.FromMinutes(1) });
        cancelled.Cancel();

        Assert.That(cancelled.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(dispatcher.DeadLetters.Count, Is.Zero);
        Assert.That(dispatcher.DeadLetters.TotalCount, Is.Zero);
    }

    [Test]
    public async Task Resubmit_RunsTheSameWorkUnderTheSameId_AndTakesItOffTheList()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var dependencyUp = false;

        var failed = await dispatcher.SubmitAsync(_ => Volatile.Read(ref dependencyUp) ? ValueTask.FromResult(42) : throw new IOException("dependency down"));
        await Assert.ThrowsAsync<IOException>(async () => await failed);
        Assert.That(dispatcher.DeadLetters.GetAll(), Is.EqualTo(new[] { failed }));

        Volatile.Write(ref dependencyUp, true);
        var resubmitted = await dispatcher.DeadLetters.ResubmitAsync(failed.Id);

        Assert.That(resubmitted, Is.InstanceOf<TaskHandle<int>>());
        Assert.That(await (TaskHandle<int>)resubmitted, Is.EqualTo(42));
        Assert.That(resubmitted.Id, Is.EqualTo(failed.Id), "a generated id is kept too, so the task's checkpoint is found");
        Assert.That(resubmitted, Is.Not.SameAs(failed));
        Assert.That(dispatcher.DeadLetters.Count, Is.Zero);
    }

    [Test]
    public async Task Resubmit_UnknownId_ThrowsKeyNotFound()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(async () => await dispatcher.DeadLetters.ResubmitAsync("nope"));
        Assert.That(error?.Message, Does.Contain("'nope'"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => dispatcher.DeadLetters.Remove(null!))?.ParamName, Is.EqualTo("id"));
    }

    [Test]
    public async Task FullList_DropsTheOldest_AndCountsIt()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Configure(static o => o.DeadLetterCapacity = 2).Build();

        foreach (var id in new[] { "one", "two", "three" })
        {
            var handle = await dispatcher.SubmitAsync(static _ => throw new IOException("no"), new TaskOptions { Id = id });
            await Assert.ThrowsAsync<IOException>(async () => await handle);
        }

        Assert.That(dispatcher.DeadLetters.GetAll().Select(static t => t.Id), Is.EqualTo(new[] { "two", "three" }));
        Assert.That(dispatcher.DeadLetters.Evicted, Is.EqualTo(1));
        Assert.That(dispatcher.DeadLetters.TotalCount, Is.EqualTo(3));
        Assert.That(dispatcher.DeadLetters.Remove("two"), Is.True);
        Assert.That(dispatcher.DeadLetters.Remove("two"), Is.False);
    }

    [Test]
    public void Build_NegativeDeadLetterCapacity_ThrowsNamingIt()
    {
        var builder = new TaskDispatcherBuilder().Configure(static o => o.DeadLetterCapacity = -1);

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build())?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.DeadLetterCapacity)));
    }
}
