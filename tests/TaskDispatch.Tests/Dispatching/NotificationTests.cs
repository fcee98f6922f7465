using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class NotificationTests
{
    [Test]
    public async Task AddObserver_CompletedFailedAndCancelledTasks_HearsEachTerminalOnceBeforeAwaiterResumes()
    {
        var observer = new RecordingObserver();
        var ordering = new CompletionOrderObserver();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .AddObserver(observer)
            .AddObserver(ordering)
            .Build();

        var completed = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));
        await completed;
        AssertHeardOnce(observer, completed, TaskState.Completed);

        var failed = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("boom"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await failed);
        AssertHeardOnce(observer, failed, TaskState.Failed);

        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var cancelled = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        var awaiting = AwaitOutcomeAsync(cancelled);
        cancelled.Cancel();
        await awaiting;
        AssertHeardOnce(observer, cancelled, TaskState.Cancelled);

        await blocker.ReleaseAndWaitAsync();
        await dispatcher.StopAsync();

        // Nothing more arrives later, and none of the handles had completed when the observer heard of it.
        Assert.That(observer.Completions[completed.Id], Is.EqualTo(1));
        Assert.That(observer.Completions[failed.Id], Is.EqualTo(1));
        Assert.That(observer.Completions[cancelled.Id], Is.EqualTo(1));
        Assert.That(observer.Completions, Has.Count.EqualTo(4));
        Assert.That(observer.TerminalChanges.Values, Is.All.EqualTo(1));
        Assert.That(ordering.HandleAlreadyCompleted, Is.Empty);
        Assert.That(ordering.Heard, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task OnTaskCompleted_Callback_RunsOncePerTaskBeforeAwaiterResumes()
    {
        var calls = new ConcurrentDictionary<string, int>();
        var stateSeen = new ConcurrentDictionary<string, TaskState>();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(2))
            .OnTaskCompleted(task =>
            {
                calls.AddOrUpdate(task.Id, 1, static (_, n) => n + 1);
                stateSeen[task.Id] = task.State;
            })
            .Build();

        var handles = new List<TaskHandle<int>>();
        for (var i = 0; i < 10; i++)
        {
            var value = i;
            handles.Add(await dispatcher.SubmitAsync(_ => value % 3 == 0 ? throw new InvalidOperationException() : ValueTask.FromResult(value)));
        }

        foreach (var handle in handles)
        {
            try
            {
                await handle;
            }
            catch (InvalidOperationException)
            {
            }

            // Right after the awaiter resumes, the callback has already run.
            Assert.That(calls.TryGetValue(handle.Id, out var count) ? count : 0, Is.EqualTo(1), handle.Id);
            Assert.That(stateSeen[handle.Id], Is.EqualTo(handle.State));
        }

        await dispatcher.StopAsync();
        Assert.That(calls.Values, Is.All.EqualTo(1));
        Assert.That(calls, Has.Count.EqualTo(10));
    }

    [Test]
    public async Task WatchAsync_TaskRunsToCompletion_YieldsCurrentStateThenEveryTransitionEndingWithOneTerminal()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1));

        // CollectAsync registers the watcher and takes the snapshot before it returns; the task is still Pending.
        var watching = CollectAsync(handle.WatchAsync());
        await blocker.ReleaseAndWaitAsync();
        await handle;
        var changes = await watching.WaitAsync(TestTimeouts.Generous);

        Assert.That(changes.Select(static c => c.State), Is.EqualTo(new[] { TaskState.Pending, TaskState.Assigning, TaskState.Running, TaskState.Completed }));
        Assert.That(changes[0].Previous, Is.EqualTo(TaskState.Pending), "the first item is the snapshot");
        AssertChained(changes);
        Assert.That(changes.Count(static c => c.IsTerminal), Is.EqualTo(1));
        Assert.That(changes.Select(static c => c.Task), Is.All.SameAs(handle));
    }

    [Test]
    public async Task WatchAsync_TaskRetries_YieldsRetryingAndEndsWithOneTerminal()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handle = await dispatcher.SubmitAsync<int>(
            static context => context.Attempt == 1 ? throw new InvalidOperationException("first attempt") : ValueTask.FromResult(context.Attempt),
            new TaskOptions { MaxRetryAttempts = 1 });

        var watching = CollectAsync(handle.WatchAsync());
        await blocker.ReleaseAndWaitAsync();
        Assert.That(await handle, Is.EqualTo(2));
        var changes = await watching.WaitAsync(TestTimeouts.Generous);

        Assert.That(
            changes.Select(static c => c.State),
            Is.EqualTo(new[]
            {
                TaskState.Pending, TaskState.Assigning, TaskState.Running, TaskState.Retrying,
                TaskState.Assigning, TaskState.Running, TaskState.Completed,
            }));
        AssertChained(changes);
        Assert.That(changes.Count(static c => c.IsTerminal), Is.EqualTo(1));
    }

    [Test]
    public async Task WatchAsync_RunningTaskCancelled_EndsWithCancelled()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        var started = new Signal();
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            started.Set();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        });
        await started.WaitAsync();

        var watching = CollectAsync(handle.WatchAsync());
        handle.Cancel();
        var changes = await watching.WaitAsync(TestTimeouts.Generous);

        Assert.That(changes.Select(static c => c.State), Is.EqualTo(new[] { TaskState.Running, TaskState.Cancelled }));
        Assert.That(changes[1].Previous, Is.EqualTo(TaskState.Running));
    }

    [Test]
    public async Task WatchAsync_FinishedTask_YieldsOnlyTerminalState()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var handle = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("boom"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);

        var changes = await CollectAsync(handle.WatchAsync()).WaitAsync(TestTimeouts.Generous);

        Assert.That(changes, Has.Count.EqualTo(1));
        Assert.That(changes[0].State, Is.EqualTo(TaskState.Failed));
        Assert.That(changes[0].Previous, Is.EqualTo(TaskState.Failed));
        Assert.That(changes[0].IsTerminal, Is.True);
    }

    [Test]
    public async Task WatchAsync_Dispatcher_SeesEveryTerminalOnceAndEndsWhenStopped()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(2)).Build();
        var watching = CollectAsync(dispatcher.WatchAsync());
        var handles = new List<TaskHandle>();
        for (var i = 0; i < 20; i++)
        {
            var value = i;
            handles.Add(await dispatcher.SubmitAsync(_ => value % 4 == 1 ? throw new InvalidOperationException() : ValueTask.CompletedTask));
        }

        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var blocker2 = await SlotBlocker.OccupyAsync(dispatcher);
        var cancelled = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);
        cancelled.Cancel();
        handles.Add(cancelled);
        handles.Add(blocker.Handle);
        handles.Add(blocker2.Handle);
        blocker.Release();
        blocker2.Release();

        Assert.That(watching.IsCompleted, Is.False, "the dispatcher has not stopped");
        await dispatcher.StopAsync();
        var changes = await watching.WaitAsync(TestTimeouts.Generous);

        var terminals = changes.Where(static c => c.IsTerminal).ToList();
        Assert.That(terminals.Select(static c => c.Task.Id), Is.EquivalentTo(handles.Select(static h => h.Id)));
        foreach (var handle in handles)
        {
            var terminal = terminals.Single(c => ReferenceEquals(c.Task, handle));
            Assert.That(terminal.State, Is.EqualTo(handle.State), handle.Id);
        }

        Assert.That(terminals.Count(static c => c.State == TaskState.Failed), Is.EqualTo(5));
        Assert.That(terminals.Count(static c => c.State == TaskState.Cancelled), Is.EqualTo(1));
    }

    [Test]
    public async Task WatchAsync_DispatcherAlreadyStopped_EndsAtOnce()
    {
        var dispatcher = new TaskDispatcherBuilder().Build();
        await dispatcher.StopAsync();

        var changes = await CollectAsync(dispatcher.WatchAsync()).WaitAsync(TestTimeouts.Generous);

        Assert.That(changes, Is.Empty);
        await dispatcher.DisposeAsync();
    }

    [Test]
    public async Task ReportProgress_WhileRunning_UpdatesProgressAndRaisesProgressChanged()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        var report = new Signal();
        var reported = new Signal();
        var finish = new Signal();
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            await report.WaitAsync();
            context.ReportProgress(0.5, "half");
            reported.Set();
            await finish.WaitAsync();
        });
        Assert.That(handle.Progress, Is.Null);
        var events = new ConcurrentQueue<(object? Sender, TaskProgress Progress)>();
        handle.ProgressChanged += (sender, progress) => events.Enqueue((sender, progress));

        report.Set();
        await reported.WaitAsync();

        Assert.That(handle.Progress, Is.Not.Null);
        Assert.That(handle.Progress!.Fraction, Is.EqualTo(0.5));
        Assert.That(handle.Progress.Message, Is.EqualTo("half"));
        Assert.That(handle.Progress.Attempt, Is.EqualTo(1));
        Assert.That(events, Has.Count.EqualTo(1), "the event is raised on the reporting thread, before ReportProgress returns");
        Assert.That(events.Single().Sender, Is.SameAs(handle));
        Assert.That(events.Single().Progress, Is.SameAs(handle.Progress));

        finish.Set();
        await handle;
    }

    [Test]
    public async Task ProgressChanged_SubscribedWhileTheTaskReports_EveryHandlerGetsReportsInTheOrderMade()
    {
        // Handlers are added one after another while the task reports as fast as it can, so that replays of the latest
        // report race with new reports: no handler may see a report after a newer one. Five tasks, for more races.
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        for (var round = 0; round < 5; round++)
        {
            await SubscribeWhileReportingAsync(dispatcher, round);
        }
    }

    private static async Task SubscribeWhileReportingAsync(TaskDispatcher dispatcher, int round)
    {
        const int Reports = 5_000;
        var go = new Signal();
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            await go.WaitAsync();
            for (var i = 1; i <= Reports; i++)
            {
                context.ReportProgress(i / (double)Reports);
            }
        });

        // At most one new handler per report seen, so that the handlers stay few and each report reaches them all quickly.
        var received = new List<ConcurrentQueue<double>>();
        TaskProgress? lastSeen = null;
        var ended = false;
        while (received.Count < 100 && !ended)
        {
            // The reports start once the first handler is in; one more handler is added after the last report.
            ended = handle.Completion.IsCompleted;
            if (received.Count == 1)
            {
                go.Set();
            }
            else if (received.Count > 1 && !ended && ReferenceEquals(handle.Progress, lastSeen))
            {
                Thread.SpinWait(20);
                continue;
            }

            lastSeen = handle.Progress;
            var fractions = new ConcurrentQueue<double>();
            received.Add(fractions);
            var first = 1;
            handle.ProgressChanged += (_, progress) =>
            {
                // A handler slow on its first call (the replay, usually) holds that call open while the task reports on:
                // the window in which a newer report could overtake the replay.
                if (Interlocked.Exchange(ref first, 0) == 1)
                {
                    Thread.SpinWait(20_000);
                }

                fractions.Enqueue(progress.Fraction);
            };
        }

        await handle;
        Assert.That(received, Has.Count.GreaterThanOrEqualTo(2));
        Assert.Multiple(() =>
        {
            foreach (var (fractions, index) in received.Select((queue, index) => (queue.ToArray(), index)))
            {
                Assert.That(fractions, Is.Ordered.Ascending.And.Unique, $"round {round}, handler {index} of {received.Count}");
                Assert.That(fractions[^1], Is.EqualTo(1.0), $"round {round}, handler {index} got the last report");
            }
        });
    }

    [Test]
    public async Task ReportProgress_FractionOutOfRange_ThrowsArgumentOutOfRange()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var handle = await dispatcher.SubmitAsync(static context =>
        {
            context.ReportProgress(1.5);
            return ValueTask.CompletedTask;
        });

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await handle);
        Assert.That(handle.Progress, Is.Null);
    }

    [Test]
    public async Task MaxRetryAttempts_FailsTwiceThenSucceeds_CompletesAfterThreeAttempts()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        var attemptsSeen = new ConcurrentQueue<int>();

        var handle = await dispatcher.SubmitAsync(
            context =>
            {
                attemptsSeen.Enqueue(context.Attempt);
                return context.Attempt < 3 ? throw new InvalidOperationException($"attempt {context.Attempt}") : ValueTask.FromResult("ok");
            },
            new TaskOptions { MaxRetryAttempts = 2 });

        Assert.That(await handle, Is.EqualTo("ok"));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Attempts, Is.EqualTo(3));
        Assert.That(handle.Exception, Is.Null);
        Assert.That(attemptsSeen, Is.EqualTo(new[] { 1, 2, 3 }));
    }

    [Test]
    public async Task MaxRetryAttempts_AlwaysFails_FailsWithLastExceptionAfterThreeAttempts()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", n => n.WithConcurrency(1)).Build();
        var thrownByAttempt = new ConcurrentDictionary<int, Exception>();

        var handle = await dispatcher.SubmitAsync<int>(
            context => throw thrownByAttempt.GetOrAdd(context.Attempt, static a => new InvalidOperationException($"attempt {a}")),
            new TaskOptions { MaxRetryAttempts = 2 });

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
        Assert.That((object?)thrown, Is.SameAs(thrownByAttempt[3]));
        Assert.That(handle.Exception, Is.SameAs(thrownByAttempt[3]));
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Attempts, Is.EqualTo(3));
        Assert.That(thrownByAttempt.Keys, Is.EquivalentTo(new[] { 1, 2, 3 }));
    }

    [Test]
    public async Task MaxRetryAttempts_NotSet_DefaultPolicyMakesOneAttempt()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var attempts = 0;

        var handle = await dispatcher.SubmitAsync<int>(_ =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("once");
        });

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
        Assert.That(attempts, Is.EqualTo(1));
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task RecoveryPolicy_RetryWithDelay_HoldsNoSlotWhileWaiting()
    {
        var fake = new FakeTimeProvider();
        var policy = new DelayedRetryPolicy(TimeSpan.FromSeconds(30));
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .UseRecovery(policy)
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();
        var retried = new Signal();

        var flaky = await dispatcher.SubmitAsync<int>(context =>
        {
            if (context.Attempt == 1)
            {
                throw new InvalidOperationException("transient");
            }

            retried.Set();
            return ValueTask.FromResult(context.Attempt);
        });

        // Another task gets the only slot while the flaky one waits out its retry delay. It can only start once the
        // failed attempt's worker freed the slot, which is after the retry timer was set.
        var other = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("other"));
        Assert.That(await other, Is.EqualTo("other"));
        Assert.That(flaky.State, Is.EqualTo(TaskState.Retrying));
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes[0].ActiveTasks == 0, "no slot is in use while the flaky task waits");

        fake.Advance(TimeSpan.FromSeconds(29));
        Assert.That(flaky.State, Is.EqualTo(TaskState.Retrying));
        Assert.That(retried.IsSet, Is.False);

        fake.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await flaky, Is.EqualTo(2));
        Assert.That(flaky.Attempts, Is.EqualTo(2));
        Assert.That(policy.Decisions, Is.EqualTo(1));
    }

    private static async Task<List<TaskStateChange>> CollectAsync(IAsyncEnumerable<TaskStateChange> changes)
    {
        var list = new List<TaskStateChange>();
        await foreach (var change in changes)
        {
            list.Add(change);
        }

        return list;
    }

    private static async Task AwaitOutcomeAsync(TaskHandle handle)
    {
        try
        {
            await handle;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void AssertHeardOnce(RecordingObserver observer, TaskHandle handle, TaskState terminal)
    {
        Assert.That(handle.State, Is.EqualTo(terminal));
        Assert.That(observer.Completions.TryGetValue(handle.Id, out var completions) ? completions : 0, Is.EqualTo(1), $"{handle.Id} OnCompleted");
        Assert.That(observer.TerminalChanges.TryGetValue(handle.Id, out var terminals) ? terminals : 0, Is.EqualTo(1), $"{handle.Id} terminal OnStateChanged");
        var terminalChange = observer.Changes.Single(c => ReferenceEquals(c.Task, handle) && c.IsTerminal);
        Assert.That(terminalChange.State, Is.EqualTo(terminal));
    }

    private static void AssertChained(List<TaskStateChange> changes)
    {
        for (var i = 1; i < changes.Count; i++)
        {
            Assert.That(changes[i].Previous, Is.EqualTo(changes[i - 1].State), $"change {i}: {changes[i]}");
        }
    }

    /// <summary>Records, at OnCompleted time, whether the handle had already completed (it must not have).</summary>
    private sealed class CompletionOrderObserver : ITaskObserver
    {
        public ConcurrentQueue<string> Heard { get; } = new();

        public ConcurrentQueue<string> HandleAlreadyCompleted { get; } = new();

        public void OnStateChanged(TaskStateChange change)
        {
        }

        public void OnCompleted(TaskHandle task)
        {
            Heard.Enqueue(task.Id);
            if (task.Completion.IsCompleted)
            {
                HandleAlreadyCompleted.Enqueue(task.Id);
            }
        }
    }

    private sealed class DelayedRetryPolicy(TimeSpan delay) : IRecoveryPolicy
    {
        private int _decisions;

        public int Decisions => Volatile.Read(ref _decisions);

        public RecoveryDecision Decide(in RecoveryContext context)
        {
            Interlocked.Increment(ref _decisions);
            return context.Attempt < 2 ? RecoveryDecision.Retry(delay) : RecoveryDecision.GiveUp;
        }
    }
}
