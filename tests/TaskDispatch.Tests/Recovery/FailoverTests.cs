using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class FailoverTests
{
    [Test]
    public async Task DefaultPolicy_AttemptThrowsNodeFailure_RetriesOnAnotherNodeAndCompletes()
    {
        await using var dispatcher = BuildTwoNodes();

        // Round-robin puts the first task of a fresh dispatcher on "a".
        var handle = await dispatcher.SubmitAsync(static context =>
            context.Attempt == 1
                ? throw new NodeFailureException($"Node '{context.NodeName}' lost its worker process.") { NodeName = context.NodeName }
                : ValueTask.FromResult(context.NodeName));

        var completedOn = await Outcomes.OutcomeAsync(handle);

        Assert.That(completedOn, Is.EqualTo("b"));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.NodeName, Is.EqualTo("b"));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        var failure = handle.AttemptFailures[0];
        Assert.That(failure.Attempt, Is.EqualTo(1));
        Assert.That(failure.NodeName, Is.EqualTo("a"));
        Assert.That(failure.IsNodeFault, Is.True);
        Assert.That(failure.Exception, Is.InstanceOf<NodeFailureException>());
        Assert.That(handle.Exception, Is.Null);
    }

    [Test]
    public async Task NodeFault_StrategyWouldPickTheFailedNodeAgain_RetryIsNotOfferedIt()
    {
        // A strategy that always takes "a" when it may: only the exclusion can keep the retry off it.
        var strategy = new PreferNodeStrategy("a");
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseAllocation(strategy)
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var runs = new ConcurrentQueue<string>();

        var handle = await dispatcher.SubmitAsync(context =>
        {
            runs.Enqueue(context.NodeName);
            return context.NodeName == "a"
                ? throw new NodeFailureException("Node 'a' cannot reach its storage.") { NodeName = "a" }
                : ValueTask.FromResult(context.Attempt);
        });

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(2));
        Assert.That(runs, Is.EqualTo(new[] { "a", "b" }));
        var offers = strategy.Offers.Where(offer => offer.TaskId == handle.Id).Select(static offer => offer.Candidates).ToArray();
        Assert.That(offers, Has.Length.EqualTo(2));
        Assert.That(offers[0], Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(offers[1], Is.EqualTo(new[] { "b" }), "the retry is not offered the node that failed it");
        Assert.That(handle.AttemptFailures.Select(static f => (f.NodeName, f.IsNodeFault)), Is.EqualTo(new[] { ("a", true) }));
    }

    [Test]
    public async Task NodeFault_FailedNodeFreeAndTheOtherBusy_RetryWaitsForTheOtherNode()
    {
        await using var dispatcher = BuildTwoNodes();
        var blockerOnB = await SlotBlocker.OccupyAsync(dispatcher, new TaskOptions { RequiredNode = "b" });
        var runs = new ConcurrentQueue<string>();

        var handle = await dispatcher.SubmitAsync(context =>
        {
            runs.Enqueue(context.NodeName);
            return context.NodeName == "a"
                ? throw new NodeFailureException("Node 'a' crashed.") { NodeName = "a" }
                : ValueTask.FromResult(context.NodeName);
        });

        try
        {
            // Attempt 1 ran on "a" (the only free node) and failed there; once "a" is free again it is the only node
            // with room, and the retry still waits rather than go back to it.
            await TestTimeouts.WaitUntilAsync(
                () => handle.AttemptFailures.Count > 0 && Node(dispatcher, "a").ActiveTasks == 0,
                "attempt 1 failed on a and a's slot is free");
            Assert.That(await Outcomes.OutcomeAsync(await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName))), Is.EqualTo("a"), "a takes other work meanwhile");
            Assert.That(handle.State, Is.EqualTo(TaskState.Retrying));
            Assert.That(handle.Attempts, Is.EqualTo(1));
        }
        finally
        {
            await blockerOnB.ReleaseAndWaitAsync();
        }

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("b"));
        Assert.That(runs, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task DefaultPolicy_OnlyNodeFailsEveryAttempt_ExclusionLiftedUntilTheFailoversRunOut()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();
        var runs = 0;

        var handle = await dispatcher.SubmitAsync(context =>
        {
            var run = Interlocked.Increment(ref runs);
            throw new NodeFailureException($"Crash #{run} on '{context.NodeName}'.") { NodeName = context.NodeName };
        });

        var error = await Assert.ThrowsAsync<NodeFailureException>(async () => await Outcomes.OutcomeAsync(handle));

        // Node faults 1-3 are failed over (back to the only node, as no other could run the task); the 4th is beyond
        // DefaultMaxFailovers and the attempt limit (1 attempt) gives up.
        const int expectedAttempts = FailoverRecoveryPolicy.DefaultMaxFailovers + 1;
        Assert.That(runs, Is.EqualTo(expectedAttempts));
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Attempts, Is.EqualTo(expectedAttempts));
        Assert.That(handle.AttemptFailures.Select(static f => f.Attempt), Is.EqualTo(new[] { 1, 2, 3, 4 }));
        Assert.That(handle.AttemptFailures.Select(static f => f.NodeName), Is.All.EqualTo("only"));
        Assert.That(handle.AttemptFailures.Select(static f => f.IsNodeFault), Is.All.True);
        Assert.That(error?.Message, Is.EqualTo("Crash #4 on 'only'."));
        Assert.That(handle.Exception, Is.SameAs(handle.AttemptFailures[^1].Exception));
    }

    [Test]
    public async Task NodeFault_EveryNodeFailedTheTask_ExclusionLiftedAndNodesReused()
    {
        await using var dispatcher = BuildTwoNodes();
        var runs = new ConcurrentQueue<string>();

        var handle = await dispatcher.SubmitAsync(context =>
        {
            runs.Enqueue(context.NodeName);
            throw new NodeFailureException($"Node '{context.NodeName}' failed.") { NodeName = context.NodeName };
        });

        await Assert.ThrowsAsync<NodeFailureException>(async () => await Outcomes.OutcomeAsync(handle));

        // a fails it, so b; b fails it too, so no node is left and the exclusion is lifted (round-robin wraps to a);
        // a fails it again, so b; the 4th node fault is beyond the failovers.
        Assert.That(runs, Is.EqualTo(new[] { "a", "b", "a", "b" }));
        Assert.That(handle.AttemptFailures.Select(static f => f.NodeName), Is.EqualTo(new[] { "a", "b", "a", "b" }));
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
    }

    [Test]
    public async Task NodeFault_TaskMaxRetryAttempts_LimitsTheFailoversToo()
    {
        await using var dispatcher = BuildTwoNodes();
        var runs = 0;

        var handle = await dispatcher.SubmitAsync(
            context =>
            {
                Interlocked.Increment(ref runs);
                throw new NodeFailureException("Node failed.") { NodeName = context.NodeName };
            },
            new TaskOptions { MaxRetryAttempts = 1 });

        await Assert.ThrowsAsync<NodeFailureException>(async () => await Outcomes.OutcomeAsync(handle));

        Assert.That(runs, Is.EqualTo(2));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.AttemptFailures.Select(static f => f.NodeName), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task DefaultPolicy_TaskFault_FailsAtOnceWithoutFailover()
    {
        await using var dispatcher = BuildTwoNodes();
        var runs = 0;

        var handle = await dispatcher.SubmitAsync(_ =>
        {
            Interlocked.Increment(ref runs);
            return ValueTask.FromException<int>(new InvalidOperationException("The input is malformed."));
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await Outcomes.OutcomeAsync(handle));

        Assert.That(runs, Is.EqualTo(1));
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Attempts, Is.EqualTo(1));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        Assert.That(handle.AttemptFailures[0].IsNodeFault, Is.False);
        Assert.That(handle.AttemptFailures[0].NodeName, Is.EqualTo("a"));
        Assert.That(handle.AttemptFailures[0].Exception, Is.SameAs(error));
    }

    [Test]
    public async Task NodeFault_WrappedInAnotherException_IsStillFailedOver()
    {
        await using var dispatcher = BuildTwoNodes();

        var handle = await dispatcher.SubmitAsync(static context =>
            context.Attempt == 1
                ? throw new IOException("The call to the worker failed.", new NodeFailureException("Worker unreachable.") { NodeName = context.NodeName })
                : ValueTask.FromResult(context.NodeName));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("b"));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        Assert.That(handle.AttemptFailures[0].IsNodeFault, Is.True);
        Assert.That(handle.AttemptFailures[0].Exception, Is.InstanceOf<IOException>(), "the failure keeps the exception as thrown");
    }

    [Test]
    public async Task SetNodeHealth_UnavailableWhileAttemptRuns_CancelsItAndRetriesOnAnotherNode()
    {
        await using var dispatcher = BuildTwoNodes();
        var started = new Signal();
        var attemptOneCancelled = new Signal();
        var neverReleased = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var handle = await dispatcher.SubmitAsync(async context =>
        {
            if (context.Attempt > 1)
            {
                return context.NodeName;
            }

            started.Set();
            try
            {
                await neverReleased.Task.WaitAsync(TestTimeouts.Generous, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                attemptOneCancelled.Set();
                throw;
            }

            return "attempt 1 was not stopped";
        });
        await started.WaitAsync();
        Assert.That(handle.NodeName, Is.EqualTo("a"));

        dispatcher.SetNodeHealth("a", NodeHealth.Unavailable);

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("b"));
        await attemptOneCancelled.WaitAsync();
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        var failure = handle.AttemptFailures[0];
        Assert.That(failure.Attempt, Is.EqualTo(1));
        Assert.That(failure.NodeName, Is.EqualTo("a"));
        Assert.That(failure.IsNodeFault, Is.True);
        Assert.That(failure.Exception, Is.InstanceOf<NodeFailureException>());
        Assert.That(((NodeFailureException)failure.Exception).NodeName, Is.EqualTo("a"));
    }

    [Test]
    public async Task SetNodeHealth_UnavailableAsTheAttemptStarts_AttemptIsGivenUpAndTheTaskMovesOn()
    {
        // The strategy marks the node unavailable as it places the task there, before the attempt is in its slot: the
        // gap between a task being handed to a node and its worker publishing the attempt. (Observers, which used to
        // open this gap from inside the Running transition, are no longer called on the engine's threads.)
        TaskDispatcher? dispatcher = null;
        dispatcher = new TaskDispatcherBuilder()
            .UseAllocation(new UnavailableOnSelectStrategy("a", () => dispatcher!))
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        await using var disposer = dispatcher;

        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult($"{context.NodeName}#{context.Attempt}"));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("b#2"));
        Assert.That(handle.AttemptFailures.Single().IsNodeFault, Is.True);
        Assert.That(handle.AttemptFailures.Single().NodeName, Is.EqualTo("a"));
    }

    [Test]
    public async Task HeartbeatTimeout_AttemptGoesSilent_GivenUpRetriedElsewhereAndItsLateResultIgnored()
    {
        var time = new FakeTimeProvider();
        var observer = new RecordingObserver();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .AddObserver(observer)
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var stuckStarted = new Signal();
        var releaseStuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuckToken = CancellationToken.None;
        var startedAt = time.GetUtcNow();

        var handle = await dispatcher.SubmitAsync<int>(
            async context =>
            {
                if (context.Attempt > 1)
                {
                    return 2;
                }

                // A hung node: no heartbeat, and the token is not honoured.
                stuckToken = context.CancellationToken;
                stuckStarted.Set();
                await releaseStuck.Task.WaitAsync(TestTimeouts.Generous);
                return 1;
            },
            new TaskOptions { HeartbeatTimeout = TimeSpan.FromSeconds(10) });
        await stuckStarted.WaitAsync();

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.That(handle.State, Is.EqualTo(TaskState.Running), "9 of 10 silent seconds");
        Assert.That(handle.AttemptFailures, Is.Empty);

        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(2));
        Assert.That(stuckToken.IsCancellationRequested, Is.True, "the given-up attempt's token is cancelled");
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.NodeName, Is.EqualTo("b"));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        var failure = handle.AttemptFailures[0];
        Assert.That(failure.NodeName, Is.EqualTo("a"));
        Assert.That(failure.IsNodeFault, Is.True);
        Assert.That(failure.Exception, Is.InstanceOf<NodeFailureException>());
        Assert.That(failure.FailedAt, Is.EqualTo(startedAt + TimeSpan.FromSeconds(10)));

        // The hung attempt comes back with a different result, after the task completed.
        releaseStuck.SetResult();
        await TestTimeouts.WaitUntilAsync(() => Node(dispatcher, "a").ActiveTasks == 0, "the given-up attempt returned and freed its slot");

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(2));
        Assert.That(handle.Completion.Result, Is.EqualTo(2));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        Assert.That(observer.TerminalChanges[handle.Id], Is.EqualTo(1));
        Assert.That(observer.Completions[handle.Id], Is.EqualTo(1));
        Assert.That(observer.Changes.Where(c => ReferenceEquals(c.Task, handle) && c.IsTerminal).Select(static c => c.State), Is.EqualTo(new[] { TaskState.Completed }));
        Assert.That(
            observer.Changes.Where(c => ReferenceEquals(c.Task, handle)).Select(static c => (c.Previous, c.State)),
            Has.Member((TaskState.Running, TaskState.Retrying)));
    }

    [Test]
    public async Task HeartbeatTimeout_GivenUpAttemptReturnsWhileTheRetryFinishes_TheRetrysResultWins()
    {
        var time = new FakeTimeProvider();
        var releaseStuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskDispatcher? built = null;

        // On b, after the retry's work has produced its result and before the task is marked completed, the hung
        // attempt on a returns with a result of its own.
        var executor = new AfterRunExecutor(async () =>
        {
            releaseStuck.TrySetResult();
            await TestTimeouts.WaitUntilAsync(() => Node(built!, "a").ActiveTasks == 0, "the given-up attempt returned and freed its slot");
        });
        await using var dispatcher = built = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", n => n.WithConcurrency(1).WithExecutor(executor))
            .Build();
        var stuckStarted = new Signal();

        var handle = await dispatcher.SubmitAsync<string>(
            async context =>
            {
                if (context.Attempt > 1)
                {
                    return "retry on " + context.NodeName;
                }

                stuckStarted.Set();
                await releaseStuck.Task.WaitAsync(TestTimeouts.Generous);
                return "given-up attempt";
            },
            new TaskOptions { HeartbeatTimeout = TimeSpan.FromSeconds(10) });
        await stuckStarted.WaitAsync();

        time.Advance(TimeSpan.FromSeconds(10));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("retry on b"));
        Assert.That(executor.Calls, Is.EqualTo(1));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.AttemptFailures.Select(static f => (f.NodeName, f.IsNodeFault)), Is.EqualTo(new[] { ("a", true) }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task HeartbeatTimeout_SignsOfLifeInTime_AttemptIsNeverGivenUp(bool reportProgress)
    {
        // Declared first so that they outlive the dispatcher, which may still run the work when a failed test disposes it.
        using var tick = new SemaphoreSlim(0);
        using var beaten = new SemaphoreSlim(0);
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();
        var started = new Signal();
        const int beats = 4;

        var handle = await dispatcher.SubmitAsync<int>(
            async context =>
            {
                started.Set();
                for (var i = 1; i <= beats; i++)
                {
                    await tick.WaitAsync(context.CancellationToken);
                    if (reportProgress)
                    {
                        context.ReportProgress((double)i / beats);
                    }
                    else
                    {
                        context.Heartbeat();
                    }

                    beaten.Release();
                }

                return context.Attempt;
            },
            new TaskOptions { HeartbeatTimeout = TimeSpan.FromSeconds(10) });
        await started.WaitAsync();

        // A sign of life every 5 s, for twice the 10 s limit.
        for (var i = 0; i < beats; i++)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            Assert.That(handle.State, Is.EqualTo(TaskState.Running), $"after {(i + 1) * 5} s");
            tick.Release();
            Assert.That(await beaten.WaitAsync(TestTimeouts.Generous), Is.True, "the work heartbeated");
        }

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo(1));
        Assert.That(handle.Attempts, Is.EqualTo(1));
        Assert.That(handle.AttemptFailures, Is.Empty);
        Assert.That(handle.NodeName, Is.EqualTo("a"));
    }

    [Test]
    public async Task NodeExecutor_ThrowsNodeFailure_TaskFailsOverToAnotherNode()
    {
        var executor = new CrashedNodeExecutor();
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("remote", n => n.WithConcurrency(1).WithExecutor(executor))
            .AddNode("local", static n => n.WithConcurrency(1))
            .Build();

        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName));

        Assert.That(await Outcomes.OutcomeAsync(handle), Is.EqualTo("local"));
        Assert.That(executor.Calls, Is.EqualTo(1));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        Assert.That(handle.AttemptFailures, Has.Count.EqualTo(1));
        Assert.That(handle.AttemptFailures[0].NodeName, Is.EqualTo("remote"));
        Assert.That(handle.AttemptFailures[0].IsNodeFault, Is.True);
        Assert.That(handle.AttemptFailures[0].Exception, Is.InstanceOf<NodeFailureException>());
    }

    private static TaskDispatcher BuildTwoNodes() =>
        new TaskDispatcherBuilder()

            // A test that fails half-way must not leave its dispatcher draining work that waits for the test.
            .Configure(static o => o.ShutdownMode = ShutdownMode.Cancel)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();

    private static NodeSnapshot Node(TaskDispatcher dispatcher, string name) => dispatcher.Nodes.Single(node => node.Name == name);

    /// <summary>Takes the preferred node whenever it is a candidate, else the first candidate; records every offer.</summary>
    /// <summary>Prefers <paramref name="node"/>, and marks it unavailable the first time it chooses it.</summary>
    private sealed class UnavailableOnSelectStrategy(string node, Func<TaskDispatcher> dispatcher) : IAllocationStrategy
    {
        private int _done;

        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            for (var i = 0; i < candidates.Length; i++)
            {
                if (candidates[i].Name == node)
                {
                    if (Interlocked.Exchange(ref _done, 1) == 0)
                    {
                        dispatcher().SetNodeHealth(node, NodeHealth.Unavailable);
                    }

                    return i;
                }
            }

            return 0;
        }
    }

    private sealed class PreferNodeStrategy(string preferred) : IAllocationStrategy
    {
        public ConcurrentQueue<(string TaskId, string[] Candidates)> Offers { get; } = new();

        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            var names = new string[candidates.Length];
            var chosen = 0;
            for (var i = 0; i < candidates.Length; i++)
            {
                names[i] = candidates[i].Name;
                if (names[i] == preferred)
                {
                    chosen = i;
                }
            }

            Offers.Enqueue((task.Id, names));
            return chosen;
        }
    }

    /// <summary>Runs the work here, then awaits a hook before the attempt is reported done.</summary>
    private sealed class AfterRunExecutor(Func<Task> afterRun) : INodeExecutor
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public async ValueTask ExecuteAsync(NodeAttempt attempt)
        {
            Interlocked.Increment(ref _calls);
            await attempt.RunLocallyAsync();
            await afterRun();
        }
    }

    /// <summary>A node whose worker process is gone: every attempt fails as a node fault.</summary>
    private sealed class CrashedNodeExecutor : INodeExecutor
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask ExecuteAsync(NodeAttempt attempt)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromException(new NodeFailureException($"The worker process of node '{attempt.Node.Name}' exited.") { NodeName = attempt.Node.Name });
        }
    }
}
