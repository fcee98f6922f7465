using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class BackpressureTests
{
    [Test]
    public async Task SubmitAsync_PendingBoundReached_TrySubmitFailsAndSubmitAsyncWaitsForRoom()
    {
        await using var dispatcher = Build(maxPending: 2);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var ran = new ConcurrentQueue<string>();

        var first = dispatcher.SubmitAsync(Record(ran, "first"));
        var second = dispatcher.SubmitAsync(Record(ran, "second"));
        Assert.That(first.IsCompletedSuccessfully, Is.True, "the first pending task is accepted at once");
        Assert.That(second.IsCompletedSuccessfully, Is.True, "the second pending task is accepted at once");
        var accepted = new[] { await first, await second };

        Assert.That(dispatcher.TrySubmit(Record(ran, "rejected"), null, out var none), Is.False);
        Assert.That(none, Is.Null);
        var waiting = dispatcher.SubmitAsync(Record(ran, "third"));

        // Both permits are held by tasks that cannot start while the only slot is blocked.
        Assert.That(waiting.IsCompleted, Is.False);
        Assert.That(dispatcher.LiveTaskCount, Is.EqualTo(3));

        var waitingTask = waiting.AsTask();
        blocker.Release();
        var third = await waitingTask.WaitAsync(TestTimeouts.Generous);
        await accepted[0];
        await accepted[1];
        await third;

        Assert.That(ran, Is.EqualTo(new[] { "first", "second", "third" }));
    }

    [Test]
    public async Task SubmitAsync_FullWithRejectMode_ThrowsTaskRejectedException()
    {
        await using var dispatcher = Build(maxPending: 1, o => o.FullMode = QueueFullMode.Reject);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        var ran = 0;

        var rejected = await Assert.ThrowsAsync<TaskRejectedException>(async () => await dispatcher.SubmitAsync(_ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        }));

        Assert.That(rejected!.Message, Does.Contain(nameof(TaskDispatcherOptions.MaxPendingTasks)));
        Assert.That(dispatcher.LiveTaskCount, Is.EqualTo(2));
        await blocker.ReleaseAndWaitAsync();
        await queued;
        Assert.That(ran, Is.Zero);

        // Room again once the queued task started.
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
    }

    [Test]
    public async Task SubmitAsync_WaitCancelled_ThrowsOperationCanceledAndAcceptsNothing()
    {
        await using var dispatcher = Build(maxPending: 1);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        using var cts = new CancellationTokenSource();
        var ran = 0;

        var waiting = dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref ran);
                return ValueTask.CompletedTask;
            },
            new TaskOptions { Id = "never-accepted" },
            cts.Token);
        Assert.That(waiting.IsCompleted, Is.False);
        var waitingTask = waiting.AsTask();

        await cts.CancelAsync();

        await Assert.CatchAsync<OperationCanceledException>(async () => await waitingTask.WaitAsync(TestTimeouts.Generous));
        Assert.That(dispatcher.TryGetHandle("never-accepted", out _), Is.False);
        Assert.That(dispatcher.LiveTaskCount, Is.EqualTo(2));

        await blocker.ReleaseAndWaitAsync();
        await queued;

        // The cancelled wait took no permit: the single one is free again.
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out var after), Is.True);
        await after!;
        Assert.That(ran, Is.Zero);
    }

    [Test]
    public async Task SubmitAsync_TokenCancelledButRoomAvailable_AcceptsTask()
    {
        await using var dispatcher = Build(maxPending: 1);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        // The token only cancels a wait for room; there is room, so the task is accepted and runs.
        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1), null, cts.Token);

        Assert.That(await handle, Is.EqualTo(1));
    }

    [Test]
    public async Task TrySubmit_DelayedTasksFillTheBound_ReturnsFalse()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .Configure(o =>
            {
                o.MaxPendingTasks = 2;
                o.ShutdownMode = ShutdownMode.Cancel;
            })
            .Build();
        var delay = new TaskOptions { Delay = TimeSpan.FromSeconds(10) };

        var first = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, delay);
        var second = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, delay);

        // The slot is free, yet the delayed tasks use up the pending bound.
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Is.False);
        var waiting = dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        Assert.That(waiting.IsCompleted, Is.False);
        var waitingTask = waiting.AsTask();

        fake.Advance(TimeSpan.FromSeconds(10));

        await first;
        await second;
        await await waitingTask.WaitAsync(TestTimeouts.Generous);
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out var later), Is.True);
        await later!;
    }

    [Test]
    public async Task SubmitAsync_FromRunningTaskWhileFull_AcceptsChildAtOnceAndRunsItAfterParent()
    {
        await using var dispatcher = Build(maxPending: 1);
        var parentStarted = new Signal();
        var submitChild = new Signal();
        var order = new ConcurrentQueue<string>();
        var childAcceptedAtOnce = false;
        var childStateWhileParentRuns = TaskState.Completed;

        var parent = await dispatcher.SubmitAsync(async context =>
        {
            parentStarted.Set();
            await submitChild.WaitAsync();
            var submission = context.Dispatcher.SubmitAsync(_ =>
            {
                order.Enqueue("child");
                return ValueTask.FromResult("child result");
            });
            childAcceptedAtOnce = submission.IsCompleted;
            if (!childAcceptedAtOnce)
            {
                // Do not deadlock the test: the wait would need the slot this task holds.
                _ = submission.AsTask();
                throw new InvalidOperationException("The child submission waited for room.");
            }

            var child = await submission;
            childStateWhileParentRuns = child.State;
            order.Enqueue("parent");
            return child;
        });
        await parentStarted.WaitAsync();

        // Fill the bound from outside: the only permit goes to a task that cannot start while the parent runs.
        var filler = await dispatcher.SubmitAsync(_ =>
        {
            order.Enqueue("filler");
            return ValueTask.CompletedTask;
        });
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Is.False);

        submitChild.Set();
        var childHandle = await parent;

        Assert.That(childAcceptedAtOnce, Is.True);
        Assert.That(childStateWhileParentRuns, Is.EqualTo(TaskState.Pending), "the parent holds the only slot");
        Assert.That(await childHandle, Is.EqualTo("child result"));
        await filler;
        Assert.That(order, Is.EqualTo(new[] { "parent", "filler", "child" }));
    }

    [Test]
    public async Task SubmitAsync_SameIdWhileLive_ReturnsSameHandleAndRunsWorkOnce()
    {
        await using var dispatcher = Build(maxPending: 10);
        var gate = new Signal();
        var runs = 0;
        var options = new TaskOptions { Id = "x" };

        var first = await dispatcher.SubmitAsync(
            async _ =>
            {
                Interlocked.Increment(ref runs);
                await gate.WaitAsync();
                return 1;
            },
            options);
        var second = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref runs);
                return ValueTask.FromResult(2);
            },
            options);
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.FromResult(3), options, out var third), Is.True);

        Assert.That(second, Is.SameAs(first));
        Assert.That(third, Is.SameAs(first));
        Assert.That(first.Id, Is.EqualTo("x"));

        gate.Set();
        Assert.That(await second, Is.EqualTo(1));
        Assert.That(runs, Is.EqualTo(1));

        // Within the outcome retention an ended task keeps its id: the same submission returns it and runs nothing.
        var again = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref runs);
                return ValueTask.FromResult(4);
            },
            options);
        Assert.That(again, Is.SameAs(first));
        Assert.That(await again, Is.EqualTo(1));
        Assert.That(runs, Is.EqualTo(1));
    }

    [Test]
    public async Task SubmitAsync_SameIdWhileFull_ReturnsExistingHandleWithoutWaiting()
    {
        await using var dispatcher = Build(maxPending: 1);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var options = new TaskOptions { Id = "queued" };
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1), options);

        var duplicate = dispatcher.SubmitAsync(static _ => ValueTask.FromResult(2), options);

        Assert.That(duplicate.IsCompletedSuccessfully, Is.True);
        Assert.That(await duplicate, Is.SameAs(queued));
        await blocker.ReleaseAndWaitAsync();
        Assert.That(await queued, Is.EqualTo(1));
    }

    [Test]
    public async Task SubmitAsync_SameIdWithOtherResultType_ThrowsInvalidOperation()
    {
        await using var dispatcher = Build(maxPending: 10);
        var gate = new Signal();
        var live = await dispatcher.SubmitAsync(
            async _ =>
            {
                await gate.WaitAsync();
                return 1;
            },
            new TaskOptions { Id = "typed" });

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("text"), new TaskOptions { Id = "typed" }));
        Assert.That(thrown!.Message, Does.Contain("typed"));
        Assert.That(() => dispatcher.TrySubmit(static _ => ValueTask.FromResult(1.5), new TaskOptions { Id = "typed" }, out _), Throws.InvalidOperationException);

        gate.Set();
        Assert.That(await live, Is.EqualTo(1));
    }

    [Test]
    public async Task TryGetHandle_LiveAndEndedTasks_FindsBothWithinRetention()
    {
        await using var dispatcher = Build(maxPending: 10);
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var given = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Id = "given" });
        var generated = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        Assert.That(generated.Id, Does.StartWith(TaskDispatcherDefaults.GeneratedIdPrefix));
        Assert.That(dispatcher.TryGetHandle("given", out var foundGiven), Is.True);
        Assert.That(foundGiven, Is.SameAs(given));
        Assert.That(dispatcher.TryGetHandle(generated.Id, out var foundGenerated), Is.True);
        Assert.That(foundGenerated, Is.SameAs(generated));
        Assert.That(dispatcher.TryGetHandle(blocker.Handle.Id, out var foundRunning), Is.True);
        Assert.That(foundRunning, Is.SameAs(blocker.Handle));
        Assert.That(dispatcher.TryGetHandle("unknown", out var unknown), Is.False);
        Assert.That(unknown, Is.Null);

        await blocker.ReleaseAndWaitAsync();
        await given;
        await generated;

        // Ended tasks stay findable, with their outcome, for the retention period.
        Assert.That(dispatcher.TryGetHandle("given", out var endedGiven), Is.True);
        Assert.That(endedGiven, Is.SameAs(given));
        Assert.That(endedGiven!.State, Is.EqualTo(TaskState.Completed));
        Assert.That(dispatcher.TryGetHandle(generated.Id, out var endedGenerated), Is.True);
        Assert.That(endedGenerated, Is.SameAs(generated));
        Assert.That(dispatcher.TryGetHandle(blocker.Handle.Id, out var endedBlocker), Is.True);
        Assert.That(endedBlocker, Is.SameAs(blocker.Handle));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    private static TaskDispatcher Build(int maxPending, Action<TaskDispatcherOptions>? configure = null) =>
        new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .Configure(o =>
            {
                o.MaxPendingTasks = maxPending;
                configure?.Invoke(o);
            })
            .Build();

    private static Func<TaskContext, ValueTask> Record(ConcurrentQueue<string> ran, string name) => _ =>
    {
        ran.Enqueue(name);
        return ValueTask.CompletedTask;
    };
}
