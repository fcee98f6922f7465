using System.Text;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class CheckpointTests
{
    private sealed record Progress(int NextItem);

    [Test]
    public async Task RetriedTask_ResumesFromTheLastCheckpointOfTheFailedAttempt()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseRecovery(RecoveryPolicy.Retry(static o => o.Delay = TimeSpan.Zero))
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();
        var startedAt = new List<int>();

        var handle = await dispatcher.SubmitAsync(async context =>
        {
            var item = (await context.LoadCheckpointAsync<Progress>())?.NextItem ?? 0;
            startedAt.Add(item);
            for (; item < 100; item++)
            {
                if (context.Attempt == 1 && item == 60)
                {
                    throw new IOException("disk hiccup at item 60");
                }

                await context.SaveCheckpointAsync(new Progress(item + 1));
            }

            return item;
        });

        Assert.That(await handle, Is.EqualTo(100));
        Assert.That(startedAt, Is.EqualTo(new[] { 0, 60 }));
    }

    [Test]
    public async Task CompletedTask_HasItsCheckpointDeleted()
    {
        var store = new InMemoryCheckpointStore();
        await using var dispatcher = new TaskDispatcherBuilder().UseCheckpointStore(store).Build();

        await await dispatcher.SubmitAsync(static async context => await context.SaveCheckpointBytesAsync(Encoding.UTF8.GetBytes("half way")), new TaskOptions { Id = "done" });

        await TestTimeouts.WaitUntilAsync(() => store.Count == 0, "the completed task's checkpoint was deleted");
        Assert.That(await store.LoadAsync("done", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task FailedTask_KeepsItsCheckpoint_SoThatResubmittingResumes()
    {
        var store = new InMemoryCheckpointStore();

        // No outcome retention: the failed task frees its id at once, so that a new submission under it runs.
        await using var dispatcher = new TaskDispatcherBuilder().UseCheckpointStore(store).Configure(o => o.OutcomeRetention = TimeSpan.Zero).Build();
        var options = new TaskOptions { Id = "batch-7" };

        var failed = await dispatcher.SubmitAsync(static async context =>
        {
            await context.SaveCheckpointAsync(new Progress(42));
            throw new InvalidOperationException("poison item 42");
        }, options);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await failed);

        var checkpoint = await store.LoadAsync("batch-7", CancellationToken.None);
        Assert.That(checkpoint, Is.Not.Null);
        Assert.That(checkpoint!.Attempt, Is.EqualTo(1));

        var resumedAt = await await dispatcher.SubmitAsync(static async context => (await context.LoadCheckpointAsync<Progress>())!.NextItem, options);
        Assert.That(resumedAt, Is.EqualTo(42));
    }

    [Test]
    public async Task InMemoryStore_NeverReplacesALaterAttemptsCheckpointWithAnEarlierOnes()
    {
        var store = new InMemoryCheckpointStore();
        var now = DateTimeOffset.UnixEpoch;

        await store.SaveAsync(new TaskCheckpoint("t", 2, new byte[] { 2 }, now), CancellationToken.None);
        await store.SaveAsync(new TaskCheckpoint("t", 1, new byte[] { 1 }, now), CancellationToken.None);
        Assert.That((await store.LoadAsync("t", CancellationToken.None))!.Data.ToArray(), Is.EqualTo(new byte[] { 2 }));

        await store.SaveAsync(new TaskCheckpoint("t", 2, new byte[] { 3 }, now), CancellationToken.None);
        Assert.That((await store.LoadAsync("t", CancellationToken.None))!.Data.ToArray(), Is.EqualTo(new byte[] { 3 }), "the same attempt moves on");

        await store.DeleteAsync("t", CancellationToken.None);
        Assert.That(await store.LoadAsync("t", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task AbandonedAttempt_CannotSaveACheckpoint()
    {
        var store = new InMemoryCheckpointStore();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseCheckpointStore(store)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .UseAllocation(AllocationStrategy.RoundRobin())
            .Build();
        var firstRunning = new TaskCompletionSource<TaskContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var staleSave = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);

        var handle = await dispatcher.SubmitAsync(async context =>
        {
            if (context.Attempt == 1)
            {
                firstRunning.SetResult(context);
                await releaseFirst.Task;
                try
                {
                    await context.SaveCheckpointAsync(new Progress(1));
                    staleSave.SetResult(null);
                }
                catch (OperationCanceledException exception)
                {
                    staleSave.SetResult(exception);
                }

                return "stale";
            }

            return "fresh";
        }, new TaskOptions { Id = "moved" });

        var first = await firstRunning.Task;
        dispatcher.SetNodeHealth(first.NodeName, NodeHealth.Unavailable);
        Assert.That(await handle, Is.EqualTo("fresh"));

        releaseFirst.SetResult();
        Assert.That(await staleSave.Task, Is.InstanceOf<OperationCanceledException>());
        Assert.That(store.Count, Is.Zero);
    }

    [Test]
    public void TaskCheckpoint_InvalidArguments_ThrowNamingThem()
    {
        Assert.That(Assert.Throws<ArgumentNullException>(() => _ = new TaskCheckpoint(null!, 1, default, default))?.ParamName, Is.EqualTo("taskId"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TaskCheckpoint("t", 0, default, default))?.ParamName, Is.EqualTo("attempt"));
    }
}
