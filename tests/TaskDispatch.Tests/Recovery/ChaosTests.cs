using System.Collections.Concurrent;

using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

/// <summary>A seeded fault-injection run: 100,000 tasks over 4 nodes with random attempt failures, a node that dies for
/// good, a node that hangs, random cancellations and a shutdown in the middle; then every promise is checked.</summary>
[TestFixture]
[CancelAfter(300_000)]
public sealed class ChaosTests
{
    private const int TaskCount = 100_000;
    private const int SlotsPerNode = 4;
    private const int Producers = 2;

    [TestCase(20261129)]
    [TestCase(7)]
    public async Task ChaosRun_EveryTaskEndsExactlyOnce_AndEveryPromiseHolds(int seed)
    {
        var observer = new ChaosObserver();
        var strategy = new CheckedAllocation(AllocationStrategy.PowerOfTwoChoices(new Random(seed)));
        var dispatcher = new TaskDispatcherBuilder($"chaos-{seed}")
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 3; o.Delay = TimeSpan.Zero; }).WithFailover())
            .UseAllocation(strategy)
            .AddObserver(observer)
            .Configure(static o =>
            {
                o.MaxPendingTasks = 2_000;
                o.NodeCircuitBreaker = new NodeCircuitBreakerOptions
                {
                    // 10 % of attempts fail anywhere; only a node that fails (or hangs) again and again is quarantined.
                    ConsecutiveFailures = 4,
                    FailureRatio = 0.6,
                    MinimumThroughput = 20,
                    BreakDuration = TimeSpan.FromMilliseconds(100),
                };
            })
            .AddNode("n1", static n => n.WithConcurrency(SlotsPerNode))
            .AddNode("n2", static n => n.WithConcurrency(SlotsPerNode))
            .AddNode("n3", static n => n.WithConcurrency(SlotsPerNode))
            .AddNode("n4", static n => n.WithConcurrency(SlotsPerNode))
            .Build();

        var n2Dead = 0;
        var n3Hung = 0;
        var hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = new int[4];
        var maxRunning = new int[4];
        var options = new TaskOptions { HeartbeatTimeout = TimeSpan.FromMilliseconds(500) };

        async ValueTask<int> WorkAsync(TaskContext context, int index)
        {
            var node = context.NodeName[1] - '1';
            var now = Interlocked.Increment(ref running[node]);
            AtomicMax.Update(ref maxRunning[node], now);
            try
            {
                if (node == 1 && Volatile.Read(ref n2Dead) != 0)
                {
                    throw new NodeFailureException("n2 is gone for good");
                }

                if (node == 2 && Volatile.Read(ref n3Hung) != 0)
                {
                    // Hangs without heartbeats and ignores its token, as a wedged machine would.
                    await hang.Task.ConfigureAwait(false);
                    return -1;
                }

                if (Chance(seed, index, context.Attempt, 10))
                {
                    throw new IOException($"injected failure of task {index} attempt {context.Attempt}");
                }

                if (index % 4 == 0)
                {
                    await Task.Yield();
                }

                return index;
            }
            finally
            {
                Interlocked.Decrement(ref running[node]);
            }
        }

        var handles = new ConcurrentBag<(TaskHandle<int> Handle, int Index)>();
        var submitted = 0;
        var rejectedAfterStop = 0;
        Task? stop = null;
        var stopLock = new object();
        async Task ProduceAsync(int producer)
        {
            var random = new Random(seed + producer);
            for (var index = producer; index < TaskCount; index += Producers)
            {
                var count = Interlocked.Increment(ref submitted);
                if (count == TaskCount * 3 / 10)
                {
                    Volatile.Write(ref n2Dead, 1);
                }
                else if (count == TaskCount / 2)
                {
                    Volatile.Write(ref n3Hung, 1);
                }
                else if (count == TaskCount * 8 / 10)
                {
                    lock (stopLock)
                    {
                        stop = dispatcher.StopAsync(ShutdownMode.Drain, TimeSpan.FromSeconds(120));
                    }
                }

                TaskHandle<int> handle;
                try
                {
                    var captured = index;
                    handle = await dispatcher.SubmitAsync(context => WorkAsync(context, captured), options);
                }
                catch (Exception exception) when (exception is InvalidOperationException or ObjectDisposedException)
                {
                    Interlocked.Increment(ref rejectedAfterStop);
                    continue;
                }

                handles.Add((handle, index));
                if (random.Next(100) < 5)
                {
                    if (random.Next(2) == 0)
                    {
                        await Task.Yield();
                    }

                    handle.Cancel();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(() => ProduceAsync(p))));
        Task stopTask;
        lock (stopLock)
        {
            stopTask = stop!;
        }

        await stopTask;
        var statistics = dispatcher.GetStatistics();
        hang.SetResult();
        await dispatcher.DisposeAsync();

        var submissions = handles.ToArray();
        var all = Array.ConvertAll(submissions, static s => s.Handle);
        var byState = all.GroupBy(static h => h.State).ToDictionary(static g => g.Key, static g => g.Count());
        TestContext.Out.WriteLine($"accepted {all.Length}, rejected after stop {rejectedAfterStop}; " +
            string.Join(", ", byState.Select(static kv => $"{kv.Key} {kv.Value}")) +
            $"; attempt failures {statistics.Recovery.AttemptFailures}, node faults {statistics.Recovery.NodeFaults}, " +
            $"abandoned {statistics.Recovery.AttemptsAbandoned}, restarts {statistics.Recovery.Restarts}, quarantines {statistics.Recovery.Quarantines}, " +
            $"dead letters {statistics.Recovery.DeadLetters}, lost {statistics.Recovery.LostTasks}");

        Assert.Multiple(() =>
        {
            Assert.That(all.Length + rejectedAfterStop, Is.EqualTo(TaskCount), "every submission was accepted or refused");
            Assert.That(rejectedAfterStop, Is.GreaterThan(0), "the shutdown came in the middle");
            Assert.That(all.Where(static h => !h.IsFinished || !h.Completion.IsCompleted), Is.Empty, "every accepted task is terminal and its submitter notified");
            Assert.That(observer.Completions.Values.Where(static n => n != 1), Is.Empty, "each task's observers heard its end exactly once");
            Assert.That(observer.TerminalChanges.Values.Where(static n => n != 1), Is.Empty, "each task made exactly one terminal transition");
            Assert.That(observer.Completions, Has.Count.EqualTo(all.Length));
            Assert.That(observer.AttemptsAfterTerminal, Is.Zero, "no attempt started after its task's terminal state");
            Assert.That(submissions.Where(static s => s.Handle.State == TaskState.Completed && s.Handle.Completion.Result != s.Index), Is.Empty,
                "every completed task returned its own result, never a given-up attempt's");
            Assert.That(maxRunning, Has.All.LessThanOrEqualTo(SlotsPerNode), "no node ran more attempts at once than it has slots");
            Assert.That(strategy.Violations, Is.Zero, "quarantined or unavailable nodes were never offered work, probing ones only one probe at a time");

            Assert.That(statistics.TasksAccepted, Is.EqualTo(all.Length), "metrics agree with the handles: accepted");
            Assert.That(statistics.TasksCompleted, Is.EqualTo(byState.GetValueOrDefault(TaskState.Completed)), "completed");
            Assert.That(statistics.TasksFailed, Is.EqualTo(byState.GetValueOrDefault(TaskState.Failed)), "failed");
            Assert.That(statistics.TasksCancelled, Is.EqualTo(byState.GetValueOrDefault(TaskState.Cancelled)), "cancelled");
            Assert.That(observer.CompletedByState(TaskState.Completed), Is.EqualTo(statistics.TasksCompleted), "observers agree with the metrics");
            Assert.That(statistics.Recovery.LostTasks, Is.Zero);
            Assert.That(statistics.Recovery.LossRate, Is.Zero);
            Assert.That(dispatcher.DeadLetters.TotalCount, Is.EqualTo(statistics.TasksFailed));

            Assert.That(statistics.Recovery.NodeFaults, Is.GreaterThan(0), "the dead node's failures were node faults");
            Assert.That(statistics.Recovery.AttemptsAbandoned, Is.GreaterThan(0), "the hung node's attempts were given up");
            Assert.That(statistics.Recovery.Quarantines, Is.GreaterThan(0), "the failing nodes were quarantined");
            Assert.That(statistics.Recovery.Restarts, Is.GreaterThan(TaskCount / 20), "about a tenth of attempts failed and were retried");
        });
    }

    /// <summary>Whether the seeded dice say this attempt fails: the same for every run, whatever the thread interleaving.</summary>
    private static bool Chance(int seed, int index, int attempt, int percent)
    {
        var hash = HashCode.Combine(seed, index, attempt);
        return (uint)hash % 100 < percent;
    }

    /// <summary>Checks what the scheduler offers the strategy: never a node that takes no work, and a probing node only
    /// when no probe is under way.</summary>
    private sealed class CheckedAllocation(IAllocationStrategy inner) : IAllocationStrategy
    {
        private int _violations;

        public int Violations => Volatile.Read(ref _violations);

        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            foreach (var node in candidates)
            {
                if (node.Health is not (NodeHealth.Healthy or NodeHealth.Degraded or NodeHealth.Probing)
                    || (node.Health == NodeHealth.Probing && node.ProbePlacement != 0))
                {
                    Interlocked.Increment(ref _violations);
                }
            }

            return inner.SelectNode(task, candidates);
        }
    }

    private sealed class ChaosObserver : ITaskObserver
    {
        private readonly ConcurrentDictionary<TaskHandle, (long Terminal, long LastRunning)> _versions = new();
        private readonly ConcurrentDictionary<TaskState, int> _completedByState = new();

        public ConcurrentDictionary<string, int> Completions { get; } = new();

        public ConcurrentDictionary<string, int> TerminalChanges { get; } = new();

        public int AttemptsAfterTerminal => _versions.Values.Count(static v => v.Terminal > 0 && v.LastRunning > v.Terminal);

        public int CompletedByState(TaskState state) => _completedByState.GetValueOrDefault(state);

        public void OnStateChanged(TaskStateChange change)
        {
            if (change.IsTerminal)
            {
                TerminalChanges.AddOrUpdate(change.Task.Id, 1, static (_, n) => n + 1);
                _versions.AddOrUpdate(change.Task, (change.Version, 0), (_, v) => (change.Version, v.LastRunning));
            }
            else if (change.State == TaskState.Running)
            {
                _versions.AddOrUpdate(change.Task, (0, change.Version), (_, v) => (v.Terminal, Math.Max(v.LastRunning, change.Version)));
            }
        }

        public void OnCompleted(TaskHandle task)
        {
            Completions.AddOrUpdate(task.Id, 1, static (_, n) => n + 1);
            _completedByState.AddOrUpdate(task.State, 1, static (_, n) => n + 1);
        }
    }
}
