using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

/// <summary>Regression tests for races and leaks a review found: each failed before its fix.</summary>

[TestFixture]
[CancelAfter(60_000)]
public sealed class ReviewRegressionTests
{
    private static async Task<bool> EndsWithinAsync(Task task, TimeSpan limit)
    {
        var ended = task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await ended.WaitAsync(limit);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    // A breaker predicate that threw escaped the attempt after it was concluded, and the task stayed Running for ever.
    [Test]
    public async Task BreakerPredicateThrows_TaskStillEnds()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o =>
            {
                o.ShutdownMode = ShutdownMode.Cancel;
                o.ShutdownTimeout = TimeSpan.FromSeconds(2);
                o.NodeCircuitBreaker = new NodeCircuitBreakerOptions { ShouldHandle = static _ => throw new InvalidOperationException("predicate bug") };
            })
            .AddNode("a", static n => n.WithConcurrency(1))
            .Build();

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromException(new InvalidOperationException("task failure")));
        var ended = await EndsWithinAsync(handle.Completion, TimeSpan.FromSeconds(5));
        Assert.That(ended, Is.True, $"task never reached a terminal state: {handle.State}, attempts {handle.Attempts}");
    }

    // A given-up attempt that freed its slot late ended the probe of a later attempt of the same task: two probes at once.
    [Test]
    public async Task StaleSlotFreedOfGivenUpAttempt_DoesNotAdmitASecondProbe()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o =>
            {
                o.ShutdownMode = ShutdownMode.Cancel;
                o.ShutdownTimeout = TimeSpan.FromSeconds(2);
                o.NodeCircuitBreaker = new NodeCircuitBreakerOptions { ConsecutiveFailures = 1, BreakDuration = TimeSpan.FromSeconds(10) };
            })
            .AddNode("a", static n => n.WithConcurrency(2))
            .Build();

        var firstStarted = new Signal();
        var probeStarted = new Signal();
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseProbe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var p = await dispatcher.SubmitAsync(async context =>
        {
            if (context.Attempt == 1)
            {
                firstStarted.Set();
                await releaseFirst.Task.WaitAsync(TestTimeouts.Generous); // hung, ignores its token
                return;
            }

            probeStarted.Set();
            await releaseProbe.Task.WaitAsync(TestTimeouts.Generous);
        }, new TaskOptions { HeartbeatTimeout = TimeSpan.FromSeconds(1) });

        await firstStarted.WaitAsync();
        time.Advance(TimeSpan.FromSeconds(1)); // heartbeat missed: attempt 1 given up, breaker opens
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].Health == NodeHealth.Quarantined, "a is quarantined");
        time.Advance(TimeSpan.FromSeconds(10)); // break over: probing
        await probeStarted.WaitAsync(); // p attempt 2 is the probe
        Assert.That(dispatcher.Nodes[0].Health, Is.EqualTo(NodeHealth.Probing));

        var qStarted = new Signal();
        var q = await dispatcher.SubmitAsync(_ => { qStarted.Set(); return ValueTask.CompletedTask; });

        releaseFirst.SetResult(); // the abandoned attempt 1 returns and frees its slot
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].ActiveTasks <= 1 || qStarted.IsSet, "attempt 1's slot freed");
        var secondProbe = await EndsWithinAsync(qStarted.Task, TimeSpan.FromSeconds(3));
        Assert.That(secondProbe && !releaseProbe.Task.IsCompleted, Is.False,
            "a second task started on a probing node while its probe (p attempt 2) was still running");
        releaseProbe.SetResult();
    }

    // A resubmitted task starts again at attempt 1, and the store kept the old incarnation's later-attempt checkpoint.
    [Test]
    public async Task ResubmittedTask_ItsOwnCheckpointsWin()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 1; o.Delay = TimeSpan.Zero; }))
            .AddNode("a", static n => n.WithConcurrency(1))
            .Build();
        var incarnation = 0;
        string? loadedAfterSave = null;
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            if (Volatile.Read(ref incarnation) == 0)
            {
                await context.SaveCheckpointAsync($"old-{context.Attempt}");
                throw new InvalidOperationException("fails");
            }

            await context.SaveCheckpointAsync("new-1");
            loadedAfterSave = await context.LoadCheckpointAsync<string>();
        }, new TaskOptions { Id = "cp-task" });
        await Outcomes.WaitForEndAsync(handle);
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Attempts, Is.EqualTo(2));

        Volatile.Write(ref incarnation, 1);
        var again = await dispatcher.DeadLetters.ResubmitAsync("cp-task");
        await Outcomes.OutcomeAsync(again);
        Assert.That(loadedAfterSave, Is.EqualTo("new-1"), "the resubmitted task's own checkpoint was dropped");
    }

    // A task that ended Cancelled while an attempt's save was in flight kept its checkpoint.
    [Test]
    public async Task TaskCancelledWhileSaving_LeavesNoCheckpoint()
    {
        var store = new GatedStore();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseCheckpointStore(store)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var saveDone = new Signal();
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            try { await context.SaveCheckpointAsync("x"); } catch (OperationCanceledException) { }
            saveDone.Set();
        }, new TaskOptions { Id = "leak", RequiredNode = null });
        await store.SaveEntered.WaitAsync();
        Assert.That(handle.Cancel(), Is.True);
        dispatcher.SetNodeHealth(handle.NodeName!, NodeHealth.Unavailable); // gives the attempt up; cancelled task ends Cancelled
        await Outcomes.WaitForEndAsync(handle);
        Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
        store.Release.SetResult();
        await saveDone.WaitAsync();
        Assert.That(store.Inner.Count, Is.EqualTo(0), "a cancelled task's checkpoint should be deleted");
    }

    private sealed class GatedStore : ICheckpointStore
    {
        public readonly InMemoryCheckpointStore Inner = new();
        public readonly Signal SaveEntered = new();
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask SaveAsync(TaskCheckpoint checkpoint, CancellationToken cancellationToken)
        {
            SaveEntered.Set();
            await Release.Task.WaitAsync(TestTimeouts.Generous, CancellationToken.None);
            await Inner.SaveAsync(checkpoint, CancellationToken.None);
        }

        public ValueTask<TaskCheckpoint?> LoadAsync(string taskId, CancellationToken cancellationToken) => Inner.LoadAsync(taskId, cancellationToken);

        public ValueTask DeleteAsync(string taskId, CancellationToken cancellationToken) => Inner.DeleteAsync(taskId, cancellationToken);
    }
}
