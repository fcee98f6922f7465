using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Storage;

/// <summary>The engine's side of the durable store seam, against a store in memory that outlives its dispatchers:
/// what is written when, what a restart replays, and what a delegate submission is told.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class StoreSeamTests
{
    [Test]
    public async Task SubmitAsync_Handler_IsStoredBeforeItReturnsAndEndsInTheStoreBeforeItsAwaiterHears()
    {
        var store = new RecordingTaskStore();
        var endGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.EndGate = endGate.Task;
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        var handle = await dispatcher.SubmitAsync<Doubler, int, int>(21, new TaskOptions { Id = "double-21", Priority = 3 });

        var stored = store.Get("double-21");
        Assert.That(stored, Is.Not.Null, "the task is stored when the submission returns");
        Assert.That(stored!.Handler, Is.EqualTo(typeof(Doubler).FullName));
        Assert.That(stored.Input, Is.EqualTo("21"));
        Assert.That(stored.Priority, Is.EqualTo(3));
        Assert.That(stored.HasCallerId, Is.True);

        await TestTimeouts.WaitUntilAsync(() => store.Events.Any(e => e.StartsWith("start:double-21", StringComparison.Ordinal)), "the attempt's start was recorded");
        await TestTimeouts.WaitUntilAsync(() => handle.State == TaskState.Completed, "the task completed");
        Assert.That(handle.Completion.IsCompleted, Is.False, "the awaiter hears only once the outcome is stored");

        endGate.SetResult();
        Assert.That(await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(42));
        Assert.That(store.Events, Is.EqualTo(new[] { "add:double-21", "start:double-21:1", "end:double-21:Completed" }));
        Assert.That(store.Get("double-21")!.Outcome!.Result, Is.EqualTo("42"));
    }

    [Test]
    public async Task Submitting_ADelegate_ToADurableDispatcher_SaysWhatToDoInstead()
    {
        await using var dispatcher = Build(new RecordingTaskStore(), new RunLog());

        var submit = await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(submit!.Message, Does.Contain("cannot store a delegate").And.Contain("SubmitAsync<THandler, TInput, TResult>"));
        Assert.Throws<InvalidOperationException>(() => dispatcher.Post(static _ => ValueTask.CompletedTask));
        Assert.Throws<InvalidOperationException>(() => dispatcher.TrySubmit(static _ => ValueTask.FromResult(1), null, out _));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.RunAsync(static _ => ValueTask.FromResult(1)));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task SubmitAsync_InputThatCannotBeSerialized_ThrowsAtTheCallSiteAndStoresNothing()
    {
        var store = new RecordingTaskStore();
        await using var dispatcher = Build(store, new RunLog());

        await Assert.CatchAsync<Exception>(async () => await dispatcher.SubmitAsync<Unserializable, Func<int>, int>(() => 1));
        Assert.That(store.Events, Is.Empty);
    }

    [Test]
    public async Task SubmitAsync_StoreFailsToWrite_ThrowsItsErrorRunsNothingAndFreesTheId()
    {
        var store = new RecordingTaskStore { FailAdds = new IOException("disk full") };
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        var error = await Assert.ThrowsAsync<IOException>(async () => await dispatcher.SubmitAsync<Doubler, int, int>(1, new TaskOptions { Id = "x" }));
        Assert.That(error!.Message, Is.EqualTo("disk full"));

        store.FailAdds = null;
        var retried = await dispatcher.SubmitAsync<Doubler, int, int>(2, new TaskOptions { Id = "x" });
        Assert.That(await retried.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(4));
        Assert.That(runs.Inputs, Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public async Task Restart_ReplaysWaitingTasksInArrivalOrderWithTheirOptions()
    {
        var store = new RecordingTaskStore();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        for (var i = 1; i <= 5; i++)
        {
            store.Seed(Stored($"t{i}", sequence: i, input: i, clock.GetUtcNow(), priority: i));
        }

        var runs = new RunLog();
        await using var dispatcher = Build(store, runs, clock, node => node.WithConcurrency(1));

        await TestTimeouts.WaitUntilAsync(() => runs.Inputs.Count == 5, "every stored task ran");
        Assert.That(runs.Inputs, Is.EqualTo(new[] { 1, 2, 3, 4, 5 }), "FCFS keeps the stored arrival order");
        Assert.That(dispatcher.TryGetHandle("t3", out var t3) && t3.Options.Priority == 3, Is.True);
        await TestTimeouts.WaitUntilAsync(() => store.Events.Count(e => e.StartsWith("end:", StringComparison.Ordinal)) == 5, "every end was stored");

        // New tasks continue the stored sequence.
        var next = await dispatcher.SubmitAsync<Doubler, int, int>(6);
        Assert.That(next.SequenceNumber, Is.EqualTo(6));
    }

    [Test]
    public async Task Restart_DelayedTask_KeepsItsStartTime()
    {
        var store = new RecordingTaskStore();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        store.Seed(Stored("later", sequence: 1, input: 7, clock.GetUtcNow(), readyAt: clock.GetUtcNow().AddMinutes(5)));
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs, clock);

        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.That(dispatcher.TryGetHandle("later", out var handle), Is.True);
        Assert.That(handle!.State, Is.EqualTo(TaskState.Pending));
        Assert.That(runs.Inputs, Is.Empty);

        clock.Advance(TimeSpan.FromMinutes(1));
        await TestTimeouts.WaitUntilAsync(() => runs.Inputs.Count == 1, "the delayed task ran at its stored start time");
    }

    [Test]
    public async Task Restart_InterruptedAttempt_IsANodeFaultTheRecoveryPolicyRetries()
    {
        var store = new RecordingTaskStore();
        store.Seed(Stored("interrupted", sequence: 1, input: 5, DateTimeOffset.UtcNow), attempts: 1, lastNode: "a");
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        Assert.That(dispatcher.TryGetHandle("interrupted", out var handle), Is.True);
        Assert.That(await ((TaskHandle<int>)handle!).AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(10));
        Assert.That(handle.Attempts, Is.EqualTo(2), "the interrupted attempt counts");
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        Assert.That(handle.AttemptFailures[0].Exception, Is.TypeOf<NodeFailureException>().With.Message.Contains("when its process stopped"));
        Assert.That(dispatcher.GetStatistics().Recovery.Restarts, Is.EqualTo(1));
    }

    [Test]
    public async Task Restart_InterruptedAttemptAtItsLimit_GoesToTheDeadLetters()
    {
        var store = new RecordingTaskStore();
        store.Seed(Stored("spent", sequence: 1, input: 5, DateTimeOffset.UtcNow, maxRetryAttempts: 0), attempts: 1, lastNode: "a");
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        Assert.That(dispatcher.DeadLetters.TryGet("spent", out var dead), Is.True);
        Assert.That(dead!.State, Is.EqualTo(TaskState.Failed));
        Assert.That(runs.Inputs, Is.Empty);
        await TestTimeouts.WaitUntilAsync(() => store.Get("spent")!.Outcome?.State == TaskState.Failed, "the failure was stored");
    }

    [Test]
    public async Task Restart_HandlerThatNoLongerExists_GoesToTheDeadLettersWithTheReason()
    {
        var store = new RecordingTaskStore();
        store.Seed(Stored("orphan", sequence: 1, input: 1, DateTimeOffset.UtcNow, handler: "Gone.RenamedHandler"));
        await using var dispatcher = Build(store, new RunLog());

        Assert.That(dispatcher.DeadLetters.TryGet("orphan", out var dead), Is.True);
        Assert.That(dead!.Exception!.Message, Does.Contain("Gone.RenamedHandler").And.Contain("AddHandler"));
        await TestTimeouts.WaitUntilAsync(() => store.Get("orphan")!.Outcome is { State: TaskState.Failed }, "the failure was stored, so the next restart does not replay it");
        Assert.That(store.Get("orphan")!.Outcome!.ErrorMessage, Does.Contain("Gone.RenamedHandler"));
    }

    [Test]
    public async Task Restart_RegisteredName_FindsTheHandlerAfterItsTypeWasRenamed()
    {
        var store = new RecordingTaskStore();
        store.Seed(Stored("named", sequence: 1, input: 4, DateTimeOffset.UtcNow, handler: "doubler-v1"));
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs, configure: builder => builder.AddHandler<Doubler, int, int>("doubler-v1"));

        await TestTimeouts.WaitUntilAsync(() => runs.Inputs.Count == 1, "the task ran under its registered name");
        Assert.That(runs.Inputs, Is.EqualTo(new[] { 4 }));
    }

    [Test]
    public async Task Restart_EndedTasks_AreFoundWithTheirResultAndTheirIdsStayTaken()
    {
        var store = new RecordingTaskStore();
        var now = DateTimeOffset.UtcNow;
        store.Seed(Stored("done", sequence: 1, input: 3, now), attempts: 1, lastNode: "a",
            outcome: new TaskOutcome { TaskId = "done", State = TaskState.Completed, Result = "6", Attempts = 1, EndedAt = now });
        store.Seed(Stored("broke", sequence: 2, input: 3, now), attempts: 2, lastNode: "a",
            outcome: new TaskOutcome { TaskId = "broke", State = TaskState.Failed, ErrorType = "System.InvalidOperationException", ErrorMessage = "bad input", Attempts = 2, EndedAt = now });
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        Assert.That(dispatcher.TryGetHandle("done", out var done), Is.True);
        Assert.That(await ((TaskHandle<int>)done!), Is.EqualTo(6));
        Assert.That(done.Attempts, Is.EqualTo(1));

        var again = await dispatcher.SubmitAsync<Doubler, int, int>(3, new TaskOptions { Id = "done" });
        Assert.That(again, Is.SameAs(done), "an id that ended within retention is not run again");

        Assert.That(dispatcher.DeadLetters.TryGet("broke", out var broke), Is.True);
        Assert.That(broke!.Exception, Is.TypeOf<RecordedTaskException>().With.Message.EqualTo("bad input"));
        Assert.That(((RecordedTaskException)broke.Exception!).ErrorType, Is.EqualTo("System.InvalidOperationException"));

        var resubmitted = (TaskHandle<int>)await dispatcher.DeadLetters.ResubmitAsync("broke");
        Assert.That(await resubmitted.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(6));
        Assert.That(runs.Inputs, Is.EqualTo(new[] { 3 }));
    }

    [Test]
    public async Task FindAsync_TaskBeyondTheOnesKeptInMemory_IsReadFromTheStore()
    {
        var store = new RecordingTaskStore();
        var now = DateTimeOffset.UtcNow;
        store.Seed(Stored("old", sequence: 1, input: 3, now), attempts: 1,
            outcome: new TaskOutcome { TaskId = "old", State = TaskState.Completed, Result = "6", Attempts = 1, EndedAt = now });
        await using var dispatcher = Build(store, new RunLog(), configure: builder => builder.Configure(options => options.MaxRetainedOutcomes = 0));

        Assert.That(dispatcher.TryGetHandle("old", out _), Is.False);
        var found = await dispatcher.FindAsync("old");
        Assert.That(found, Is.Not.Null);
        Assert.That(found!.State, Is.EqualTo(TaskState.Completed));
        Assert.That(await dispatcher.FindAsync("never"), Is.Null);
    }

    [Test]
    public async Task ConcurrentSubmitters_EveryTaskStoredOnceAndEndedOnce()
    {
        var store = new RecordingTaskStore();
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        var handles = new ConcurrentBag<TaskHandle<int>>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
            handles.Add(await dispatcher.SubmitAsync<Doubler, int, int>(i, null, token)));
        foreach (var handle in handles)
        {
            await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous);
        }

        var events = store.Events.ToList();
        Assert.That(events.Count(e => e.StartsWith("add:", StringComparison.Ordinal)), Is.EqualTo(400));
        Assert.That(events.Where(e => e.StartsWith("end:", StringComparison.Ordinal)).Distinct().Count(), Is.EqualTo(400));
        Assert.That(events.Count(e => e.StartsWith("end:", StringComparison.Ordinal)), Is.EqualTo(400));
        Assert.That(runs.Inputs.Order(), Is.EqualTo(Enumerable.Range(0, 400)));
    }

    [Test]
    public async Task SubmitManyAsync_Durable_StoresEveryTaskAndRunsThemAll()
    {
        var store = new RecordingTaskStore();
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        var handles = await dispatcher.SubmitManyAsync<Doubler, int, int>(Enumerable.Range(1, 50), new TaskOptions { Priority = 2 });

        Assert.That(handles, Has.Count.EqualTo(50));
        Assert.That(handles.Select(h => store.Get(h.Id)), Has.All.Not.Null, "every task is stored when the call returns");
        var results = await Task.WhenAll(handles.Select(static h => h.AsValueTask().AsTask())).WaitAsync(TestTimeouts.Generous);
        Assert.That(results, Is.EqualTo(Enumerable.Range(1, 50).Select(static i => i * 2)));
        Assert.That(handles.Select(static h => h.Options.Priority), Is.All.EqualTo(2));
    }

    [Test]
    public async Task SubmitManyAsync_StoreFailsToWrite_TasksEndFailedAndNoneRuns()
    {
        var store = new RecordingTaskStore { FailAdds = new IOException("disk full") };
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        var handles = await dispatcher.SubmitManyAsync<Doubler, int, int>([1, 2, 3]);

        Assert.That(handles.Select(static h => h.State), Is.All.EqualTo(TaskState.Failed));
        Assert.That(handles.Select(static h => h.Exception), Is.All.TypeOf<IOException>());
        Assert.That(runs.Inputs, Is.Empty);
    }

    [Test]
    public async Task SubmitManyAsync_OptionsWithAnId_AreRefusedNamingTheArgument()
    {
        await using var dispatcher = Build(new RecordingTaskStore(), new RunLog());

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await dispatcher.SubmitManyAsync<Doubler, int, int>([1, 2], new TaskOptions { Id = "same" }));
        Assert.That(error!.ParamName, Is.EqualTo("options"));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await dispatcher.SubmitManyAsync<Doubler, int, int>(null!));
    }

    [Test]
    public async Task SubmitManyAsync_InMemory_MoreTasksThanThePendingBound_AllRun()
    {
        var runs = new RunLog();
        var services = new ServiceCollection().AddSingleton(runs).BuildServiceProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseServiceProvider(services)
            .Configure(options => options.MaxPendingTasks = 4)
            .AddNode("a", node => node.WithConcurrency(2))
            .Build();

        var handles = await dispatcher.SubmitManyAsync<Doubler, int, int>(Enumerable.Range(0, 40)).AsTask().WaitAsync(TestTimeouts.Generous);
        await Task.WhenAll(handles.Select(static h => h.AsValueTask().AsTask())).WaitAsync(TestTimeouts.Generous);

        Assert.That(runs.Inputs.Order(), Is.EqualTo(Enumerable.Range(0, 40)));
    }

    [Test]
    public async Task SubmitManyAsync_Durable_MoreTasksThanThePendingBound_AllRun()
    {
        var store = new RecordingTaskStore();
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs, configure: builder => builder.Configure(options => options.MaxPendingTasks = 4));

        var handles = await dispatcher.SubmitManyAsync<Doubler, int, int>(Enumerable.Range(0, 40)).AsTask().WaitAsync(TestTimeouts.Generous);
        await Task.WhenAll(handles.Select(static h => h.AsValueTask().AsTask())).WaitAsync(TestTimeouts.Generous);

        Assert.That(runs.Inputs.Order(), Is.EqualTo(Enumerable.Range(0, 40)));
    }

    [Test]
    public async Task SubmitAsync_TokenAlreadyCancelled_EndsCancelledAndIsNeverReplayed()
    {
        var store = new RecordingTaskStore();
        var runs = new RunLog();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await using (var first = Build(store, runs))
        {
            var handle = await first.SubmitAsync<Doubler, int, int>(1, new TaskOptions { Id = "never", CancellationToken = cancelled.Token });
            Assert.That(handle.State, Is.EqualTo(TaskState.Cancelled));
            await handle.Completion.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(TestTimeouts.Generous);
        }

        await using var second = Build(store, runs);
        Assert.That(second.LiveTaskCount, Is.Zero, "nothing to replay");
        Assert.That(runs.Inputs, Is.Empty);
    }

    [Test]
    public async Task Restart_StoredInputThatNoLongerReads_GoesToTheDeadLettersAndTheDispatcherStarts()
    {
        var store = new RecordingTaskStore();
        var stale = Stored("stale", sequence: 1, input: 1, DateTimeOffset.UtcNow);
        store.Seed(new StoredTask
        {
            Id = stale.Id, SequenceNumber = stale.SequenceNumber, Handler = stale.Handler, Input = "\"not a number\"", Options = stale.Options,
            HasCallerId = true, SubmittedAt = stale.SubmittedAt, ReadyAt = stale.ReadyAt,
        });
        store.Seed(Stored("fine", sequence: 2, input: 21, DateTimeOffset.UtcNow));
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);

        Assert.That(dispatcher.DeadLetters.TryGet("stale", out var dead), Is.True);
        Assert.That(dead!.Exception!.Message, Does.Contain("no longer read"));
        await TestTimeouts.WaitUntilAsync(() => runs.Inputs.Count == 1, "the readable task ran");
        Assert.That(runs.Inputs, Is.EqualTo(new[] { 21 }));
    }

    [Test]
    public async Task SubmitManyAsync_AnInputThatCannotBeStored_EndsTheBatchButWhatWasAcceptedRuns()
    {
        var store = new RecordingTaskStore();
        var services = new ServiceCollection().BuildServiceProvider();
        await using var dispatcher = new TaskDispatcherBuilder().UseStore(store).UseServiceProvider(services).Build();

        await Assert.CatchAsync<Exception>(async () => await dispatcher.SubmitManyAsync<Halver, double, double>([2.0, 4.0, double.NaN, 8.0]));

        await TestTimeouts.WaitUntilAsync(() => dispatcher.LiveTaskCount == 0, "the tasks accepted before the bad input ran to their end");
        Assert.That(store.Events.Count(static e => e.StartsWith("end:", StringComparison.Ordinal) && e.EndsWith(":Completed", StringComparison.Ordinal)), Is.EqualTo(2));
    }

    [Test]
    public async Task ResultThatCannotBeStored_TheEndIsStillRecorded()
    {
        var store = new RecordingTaskStore();
        var services = new ServiceCollection().BuildServiceProvider();
        await using var dispatcher = new TaskDispatcherBuilder().UseStore(store).UseServiceProvider(services).Build();

        var handle = await dispatcher.SubmitAsync<Halver, double, double>(-1.0, new TaskOptions { Id = "nan" });
        Assert.That(double.IsNaN(await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous)), Is.True);

        Assert.That(store.Get("nan")!.Outcome, Is.Not.Null.And.Property(nameof(TaskOutcome.State)).EqualTo(TaskState.Completed), "ended in the store, so never run again");
        Assert.That(store.Get("nan")!.Outcome!.Result, Is.Null);
    }

    [Test]
    public async Task Stop_DuringTheOnlyAllowedAttempt_TheNextStartRunsItAgainInsteadOfDeadLetteringIt()
    {
        var store = new RecordingTaskStore();
        var runs = new RunLog();
        static void NoRetries(TaskDispatcherBuilder builder) => builder.UseRecovery(RecoveryPolicy.Retry(options => options.MaxRetryAttempts = 0));
        await using (var first = Build(store, runs, configure: NoRetries))
        {
            await first.SubmitAsync<GatedDoubler, int, int>(5, new TaskOptions { Id = "once" });
            await runs.Entered.Task.WaitAsync(TestTimeouts.Generous);
            await first.StopAsync(ShutdownMode.Cancel, TimeSpan.FromSeconds(5));
        }

        runs.Gate.TrySetResult();
        await using var second = Build(store, runs, configure: NoRetries);
        Assert.That(second.DeadLetters.TryGet("once", out _), Is.False, "a graceful stop spends no retry");
        Assert.That(second.TryGetHandle("once", out var handle), Is.True);
        Assert.That(await ((TaskHandle<int>)handle!).AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(10));
    }

    [Test]
    public async Task StopAsync_StoreStalledOnAnEnd_StillReturnsByItsDeadline()
    {
        var store = new RecordingTaskStore();
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.EndGate = stalled.Task;
        var runs = new RunLog();
        await using var dispatcher = Build(store, runs);
        try
        {
            var handle = await dispatcher.SubmitAsync<Doubler, int, int>(1);
            await TestTimeouts.WaitUntilAsync(() => handle.State == TaskState.Completed, "the task ended; its end waits on the store");

            await dispatcher.StopAsync(ShutdownMode.Drain, TimeSpan.FromMilliseconds(200)).WaitAsync(TestTimeouts.Generous);
        }
        finally
        {
            stalled.TrySetResult();
        }
    }

    private static TaskDispatcher Build(RecordingTaskStore store, RunLog runs, TimeProvider? clock = null, Action<NodeOptions>? node = null, Action<TaskDispatcherBuilder>? configure = null)
    {
        var services = new ServiceCollection().AddSingleton(runs).BuildServiceProvider();
        var builder = new TaskDispatcherBuilder()
            .UseStore(store)
            .UseServiceProvider(services)
            .AddNode("a", node ?? (static n => n.WithConcurrency(2)));
        if (clock is not null)
        {
            builder.UseTimeProvider(clock);
        }

        configure?.Invoke(builder);
        return builder.Build();
    }

    private static StoredTask Stored(string id, long sequence, int input, DateTimeOffset submittedAt, int priority = 0, DateTimeOffset? readyAt = null, int? maxRetryAttempts = null, string? handler = null) => new()
    {
        Id = id,
        SequenceNumber = sequence,
        Handler = handler ?? typeof(Doubler).FullName!,
        Input = input.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Options = $$"""{"Id":"{{id}}","Priority":{{priority}}{{(maxRetryAttempts is { } max ? $",\"MaxRetryAttempts\":{max}" : string.Empty)}}}""",
        Priority = priority,
        HasCallerId = true,
        SubmittedAt = submittedAt,
        ReadyAt = readyAt ?? submittedAt,
    };

    /// <summary>What the handlers of one test ran.</summary>
    public sealed class RunLog
    {
        private readonly ConcurrentQueue<int> _inputs = new();

        public IReadOnlyCollection<int> Inputs => _inputs.ToArray();

        public void Record(int input) => _inputs.Enqueue(input);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Doubles its input and logs it.</summary>
    public sealed class Doubler(RunLog runs) : ITaskHandler<int, int>
    {
        public ValueTask<int> HandleAsync(int input, TaskContext context)
        {
            runs.Record(input);
            return ValueTask.FromResult(input * 2);
        }
    }

    /// <summary>Halves its input; a negative input gives NaN, which JSON cannot write.</summary>
    public sealed class Halver : ITaskHandler<double, double>
    {
        public ValueTask<double> HandleAsync(double input, TaskContext context) => ValueTask.FromResult(input < 0 ? double.NaN : input / 2);
    }

    /// <summary>Doubles its input once the log's gate opens.</summary>
    public sealed class GatedDoubler(RunLog runs) : ITaskHandler<int, int>
    {
        public async ValueTask<int> HandleAsync(int input, TaskContext context)
        {
            runs.Entered.TrySetResult();
            await runs.Gate.Task.WaitAsync(context.CancellationToken);
            runs.Record(input);
            return input * 2;
        }
    }

    /// <summary>Takes an input that JSON cannot write.</summary>
    public sealed class Unserializable : ITaskHandler<Func<int>, int>
    {
        public ValueTask<int> HandleAsync(Func<int> input, TaskContext context) => ValueTask.FromResult(input());
    }
}
