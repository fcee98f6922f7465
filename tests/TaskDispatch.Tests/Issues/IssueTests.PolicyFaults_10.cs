using System.Diagnostics.CodeAnalysis;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Issues;

/// <summary>Issue 10: a stop that never returned after the scheduling policy threw, and what a policy's bad call costs.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed partial class IssueTests
{
    [Test]
    public async Task StopAsync_PolicyThrowsFromTryDequeueWhileTaskRuns_CancelsTheRunningAttemptAndReturns()
    {
        var policy = new FaultySchedulingPolicy();
        await using var dispatcher = new TaskDispatcherBuilder().UseScheduling(policy).AddNode("a", n => n.WithConcurrency(2)).Build();
        var started = new Signal();
        var sawCancellation = new Signal();
        var running = await dispatcher.SubmitAsync(async context =>
        {
            started.Set();
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                sawCancellation.Set();
                throw;
            }
        });
        await started.WaitAsync();

        policy.ThrowOnDequeue = true;
        var victim = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        await sawCancellation.WaitAsync();

        await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.FromSeconds(2)).WaitAsync(TestTimeouts.Generous);

        Assert.That(running.State, Is.EqualTo(TaskState.Failed));
        Assert.That(victim.State, Is.EqualTo(TaskState.Failed));
        Assert.That(running.Exception, Is.InstanceOf<InvalidOperationException>());
        Assert.That(running.Exception!.InnerException, Is.SameAs(policy.Thrown));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
    }

    [Test]
    public async Task TryDequeueThrows_WithTasksQueued_TheirRemovalsAreTakenAndNoStepKeepsRunning()
    {
        var policy = new FaultySchedulingPolicy();
        await using var dispatcher = new TaskDispatcherBuilder().UseScheduling(policy).AddNode("a", n => n.WithConcurrency(1)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = new List<TaskHandle>();
        for (var i = 0; i < 20; i++)
        {
            queued.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        }

        // With the slot taken, the tasks wait in the intake; a health change runs a step, which queues them in the policy.
        dispatcher.SetNodeHealth("a", NodeHealth.Healthy);
        await TestTimeouts.WaitUntilAsync(() => policy.Count == queued.Count, "the tasks to be queued");
        policy.ThrowOnDequeue = true;
        blocker.Release();
        await TestTimeouts.WaitUntilAsync(() => queued.TrueForAll(static t => t.IsFinished), "the fault to fail the queued tasks");

        // The faulting step failed the queued tasks, whose removals were posted while it ran. Left in the intake, they
        // had the gate hand steps to the thread pool for the life of the process (millions a second, half a core).
        await TestTimeouts.WaitUntilAsync(() => !dispatcher.Scheduler.HasQueuedWork, "the intake to be emptied after the fault");
        Assert.That(queued.Select(static t => t.State), Is.All.EqualTo(TaskState.Failed));
        Assert.That(dispatcher.Fault, Is.SameAs(policy.Thrown));
    }

    [Test]
    public async Task StopAsync_FaultedWhileWorkIgnoresItsToken_ReturnsAtTheDeadline()
    {
        var policy = new FaultySchedulingPolicy();
        var dispatcher = new TaskDispatcherBuilder().UseScheduling(policy).AddNode("a", n => n.WithConcurrency(2)).Build();
        var started = new Signal();
        var release = new Signal();
        var stubborn = await dispatcher.SubmitAsync(async _ =>
        {
            started.Set();
            await release.Task;
        });
        try
        {
            await started.WaitAsync();
            policy.ThrowOnDequeue = true;
            await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
            await TestTimeouts.WaitUntilAsync(() => stubborn.IsFinished, "the fault to fail the running task");

            await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.FromMilliseconds(200)).WaitAsync(TestTimeouts.Generous);
            await dispatcher.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Generous);

            Assert.That(stubborn.State, Is.EqualTo(TaskState.Failed));
            Assert.That(release.IsSet, Is.False, "the stop returned while the work still ran");
        }
        finally
        {
            release.Set();
        }
    }

    [Test]
    public async Task Remove_PolicyThrows_OnlyTheCancelledTaskIsConcernedAndTheDispatcherKeepsRunning()
    {
        var policy = new FaultySchedulingPolicy { ThrowOnRemove = true };
        await using var dispatcher = new TaskDispatcherBuilder().UseScheduling(policy).AddNode("a", n => n.WithConcurrency(1)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        // With every slot taken, a submission waits in the intake; a health change runs a step, which queues it.
        dispatcher.SetNodeHealth("a", NodeHealth.Healthy);
        await TestTimeouts.WaitUntilAsync(() => policy.Count == 1, "the task to be queued");

        Assert.That(queued.Cancel(), Is.True);
        await TestTimeouts.WaitUntilAsync(() => policy.RemoveCalls == 1, "the policy to be asked to remove the task");
        var after = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(42));
        await blocker.ReleaseAndWaitAsync();

        Assert.That(await after.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(42));
        Assert.That(queued.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(policy.Count, Is.Zero, "the stale entry was dequeued and skipped");
    }

    [Test]
    public async Task OnAttemptSucceeded_PolicyThrows_TaskCompletesAndLaterTasksRun()
    {
        var policy = new FaultySchedulingPolicy { ThrowOnLearn = true };
        await using var dispatcher = new TaskDispatcherBuilder().UseScheduling(policy).AddNode("a").Build();

        var first = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));
        Assert.That(await first.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(1));
        var second = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(2));

        Assert.That(await second.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(2));
        Assert.That(policy.LearnCalls, Is.EqualTo(2));
    }

    [Test]
    public async Task Enqueue_PolicyThrowsForOneTask_OnlyThatTaskFails()
    {
        var policy = new FaultySchedulingPolicy { ThrowOnEnqueueOf = "poison" };
        await using var dispatcher = new TaskDispatcherBuilder().UseScheduling(policy).AddNode("a").Build();

        var poison = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Id = "poison" });
        var healthy = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("ok"));

        Assert.That(await healthy.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("ok"));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await poison);
        Assert.That(error, Is.SameAs(policy.Thrown));
        Assert.That(poison.State, Is.EqualTo(TaskState.Failed));
    }

    [Test]
    public async Task SelectNode_StrategyThrowsForOneTask_OnlyThatTaskFails()
    {
        var strategy = new FaultyAllocationStrategy("poison");
        await using var dispatcher = new TaskDispatcherBuilder().UseAllocation(strategy).AddNode("a").AddNode("b").Build();

        var poison = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Id = "poison" });
        var healthy = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("ok"));

        Assert.That(await healthy.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("ok"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await poison);
        Assert.That(poison.State, Is.EqualTo(TaskState.Failed));
    }

    /// <summary>First come, first served, with faults a test switches on.</summary>
    private sealed class FaultySchedulingPolicy : ILearningSchedulingPolicy
    {
        private readonly ISchedulingPolicy _inner = SchedulingPolicy.FirstComeFirstServed();
        private int _count;
        private int _removeCalls;
        private int _learnCalls;

        public volatile bool ThrowOnDequeue;

        public bool ThrowOnRemove { get; init; }

        public bool ThrowOnLearn { get; init; }

        public string? ThrowOnEnqueueOf { get; init; }

        public InvalidOperationException Thrown { get; } = new("the policy is broken");

        public int Count => Volatile.Read(ref _count);

        public int RemoveCalls => Volatile.Read(ref _removeCalls);

        public int LearnCalls => Volatile.Read(ref _learnCalls);

        public void Enqueue(TaskHandle task)
        {
            if (task.Id == ThrowOnEnqueueOf)
            {
                throw Thrown;
            }

            _inner.Enqueue(task);
            Volatile.Write(ref _count, _inner.Count);
        }

        public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
        {
            if (ThrowOnDequeue)
            {
                throw Thrown;
            }

            var dequeued = _inner.TryDequeue(out task);
            Volatile.Write(ref _count, _inner.Count);
            return dequeued;
        }

        public bool Remove(TaskHandle task)
        {
            Interlocked.Increment(ref _removeCalls);
            if (ThrowOnRemove)
            {
                throw Thrown;
            }

            var removed = _inner.Remove(task);
            Volatile.Write(ref _count, _inner.Count);
            return removed;
        }

        public void OnAttemptSucceeded(TaskHandle task, TimeSpan processingTime)
        {
            Interlocked.Increment(ref _learnCalls);
            if (ThrowOnLearn)
            {
                throw Thrown;
            }
        }
    }

    /// <summary>Picks the first node, and throws for one task id.</summary>
    private sealed class FaultyAllocationStrategy(string poisonId) : IAllocationStrategy
    {
        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> nodes) =>
            task.Id == poisonId ? throw new InvalidOperationException("the strategy is broken") : 0;
    }
}
