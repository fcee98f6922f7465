using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

/// <summary>The one-await <c>RunAsync</c>, fire-and-forget <c>Post</c>, and the handle as its own awaitable.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class FastPathTests
{
    [Test]
    public async Task RunAsync_WorkReturns_ReturnsItsResult()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();

        var result = await dispatcher.RunAsync(static context => ValueTask.FromResult(context.Attempt * 21 * 2));

        Assert.That(result, Is.EqualTo(42));
    }

    [Test]
    public async Task RunAsync_WorkThrows_ThrowsTheTasksOwnException()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await dispatcher.RunAsync<int>(static _ => throw new InvalidOperationException("the input file is missing")));

        Assert.That(error!.Message, Is.EqualTo("the input file is missing"));
    }

    [Test]
    public async Task RunAsync_NoResultCancelledWhileWaiting_ThrowsOperationCanceled()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(1)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        using var cancellation = new CancellationTokenSource();
        var ran = false;

        var run = dispatcher.RunAsync(_ =>
        {
            ran = true;
            return ValueTask.CompletedTask;
        }, new TaskOptions { CancellationToken = cancellation.Token });
        await cancellation.CancelAsync();
        await blocker.ReleaseAndWaitAsync();

        await Assert.CatchAsync<OperationCanceledException>(async () => await run.AsTask().WaitAsync(TestTimeouts.Generous));
        Assert.That(ran, Is.False);
    }

    [Test]
    public async Task RunAsync_DispatcherFullAndWaiting_ReturnsOnceRoomFreesAndTheWorkRan()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.MaxPendingTasks = 1)
            .AddNode("a", static n => n.WithConcurrency(1))
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var queued = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));

        var waiting = dispatcher.RunAsync(static _ => ValueTask.FromResult(2));
        Assert.That(waiting.IsCompleted, Is.False, "no room: the submission waits");
        await blocker.ReleaseAndWaitAsync();

        Assert.That(await waiting.AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(2));
        Assert.That(await queued, Is.EqualTo(1));
    }

    [Test]
    public async Task Post_ManyTasks_EveryOneRunsOnce()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(2)).AddNode("b").Build();
        const int count = 10_000;
        var runs = new ConcurrentDictionary<int, int>();
        for (var i = 0; i < count; i++)
        {
            var value = i;
            Assert.That(dispatcher.Post(_ =>
            {
                runs.AddOrUpdate(value, 1, static (_, n) => n + 1);
                return ValueTask.CompletedTask;
            }), Is.True);
        }

        await dispatcher.StopAsync(ShutdownMode.Drain).WaitAsync(TestTimeouts.Generous);

        Assert.That(runs, Has.Count.EqualTo(count));
        Assert.That(runs.Values, Is.All.EqualTo(1));
        Assert.That(dispatcher.GetStatistics().TasksCompleted, Is.EqualTo(count));
    }

    [Test]
    public async Task Post_WorkThrows_TheFailureReachesTheDeadLettersAndObservers()
    {
        var observer = new RecordingObserver();
        await using var dispatcher = new TaskDispatcherBuilder().AddObserver(observer).AddNode("a").Build();

        Assert.That(dispatcher.Post(static _ => throw new InvalidOperationException("lost e-mail")), Is.True);
        await TestTimeouts.WaitUntilAsync(() => !observer.Completions.IsEmpty, "the observer to hear of the failure");

        var letter = dispatcher.DeadLetters.GetAll().Single();
        Assert.That(letter.State, Is.EqualTo(TaskState.Failed));
        Assert.That(letter.Exception!.Message, Is.EqualTo("lost e-mail"));
    }

    [Test]
    public async Task Post_DispatcherFull_ReturnsFalseAndRunsNothing()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.MaxPendingTasks = 1)
            .AddNode("a", static n => n.WithConcurrency(1))
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var ran = 0;
        ValueTask Work(TaskContext _)
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        }

        Assert.That(dispatcher.Post(Work), Is.True);
        Assert.That(dispatcher.Post(Work), Is.False);
        await blocker.ReleaseAndWaitAsync();
        await dispatcher.StopAsync(ShutdownMode.Drain).WaitAsync(TestTimeouts.Generous);

        Assert.That(ran, Is.EqualTo(1));
    }

    [Test]
    public async Task PostAsync_DispatcherFull_CompletesOnceAcceptedNotWhenRun()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.MaxPendingTasks = 1)
            .AddNode("a", static n => n.WithConcurrency(1))
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var release = new Signal();
        var ran = new Signal();
        await dispatcher.PostAsync(async _ => await release.WaitAsync());

        var second = dispatcher.PostAsync(_ =>
        {
            ran.Set();
            return ValueTask.CompletedTask;
        });
        Assert.That(second.IsCompleted, Is.False, "no room: it waits");
        await blocker.ReleaseAndWaitAsync();
        await second.AsTask().WaitAsync(TestTimeouts.Generous);

        Assert.That(ran.IsSet, Is.False, "accepted while the first still runs on the only slot");
        release.Set();
        await ran.WaitAsync();
    }

    [Test]
    public void Post_NullWork_ThrowsArgumentNull()
    {
        using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();

        var error = Assert.Throws<ArgumentNullException>(() => dispatcher.Post(null!));

        Assert.That(error!.ParamName, Is.EqualTo("work"));
    }

    [Test]
    public async Task Await_SameHandleManyTimesBeforeAndAfterItEnds_EveryAwaitGetsTheResult()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();
        var release = new Signal();
        var handle = await dispatcher.SubmitAsync(async _ =>
        {
            await release.WaitAsync();
            return "done";
        });

        var early = Enumerable.Range(0, 5).Select(async _ => await handle).ToArray();
        var viaTask = handle.Completion;
        var configured = handle.AsValueTask().ConfigureAwait(false);
        release.Set();

        Assert.That(await Task.WhenAll(early).WaitAsync(TestTimeouts.Generous), Is.All.EqualTo("done"));
        Assert.That(await viaTask, Is.EqualTo("done"));
        Assert.That(await configured, Is.EqualTo("done"));
        Assert.That(await handle, Is.EqualTo("done"), "an await after the end");
        Assert.That(handle.Completion, Is.SameAs(viaTask), "Completion is created once");
    }

    [Test]
    public async Task Completion_FirstAskedAfterTheTaskFailed_IsFaultedWithTheTasksException()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();
        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromException(new FormatException("bad row")));
        await Assert.ThrowsAsync<FormatException>(async () => await handle);

        var completion = handle.Completion;

        Assert.That(completion.IsFaulted, Is.True);
        Assert.That(completion.Exception!.InnerException, Is.InstanceOf<FormatException>());
    }

    [Test]
    public async Task Await_OnASynchronizationContext_ResumesOnThatContext()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a").Build();
        var release = new Signal();
        var handle = await dispatcher.SubmitAsync(async _ =>
        {
            await release.WaitAsync();
            return 1;
        });
        var context = new RecordingSynchronizationContext();
        var resumed = new TaskCompletionSource<SynchronizationContext?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            _ = AwaitAndRecordAsync();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        release.Set();

        Assert.That(await resumed.Task.WaitAsync(TestTimeouts.Generous), Is.SameAs(context));
        Assert.That(context.Posts, Is.GreaterThanOrEqualTo(1));

        async Task AwaitAndRecordAsync()
        {
            await handle;
            resumed.SetResult(SynchronizationContext.Current);
        }
    }

    [Test]
    public async Task TryGetHandle_GeneratedIdOfAWaitingTask_FindsTheTaskAndCancelsIt()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static n => n.WithConcurrency(1)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var waiting = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        var id = TaskDispatcherDefaults.GeneratedIdPrefix + waiting.SequenceNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.That(dispatcher.TryGetHandle(id, out var found), Is.True);
        Assert.That(found, Is.SameAs(waiting));
        Assert.That(waiting.Id, Is.EqualTo(id));
        Assert.That(dispatcher.Cancel(id), Is.True);
        await blocker.ReleaseAndWaitAsync();
        Assert.That(waiting.State, Is.EqualTo(TaskState.Cancelled));
    }

    /// <summary>Runs posted callbacks on the thread pool inside itself, counting them.</summary>
    private sealed class RecordingSynchronizationContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ =>
            {
                SetSynchronizationContext(this);
                d(state);
            });
        }
    }
}
