using System.Collections.Concurrent;

namespace TaskDispatch.Tests.Dispatching;

/// <summary>Many submitters, random cancellations, yielding work: every invariant of the engine at once.</summary>
[TestFixture]
[CancelAfter(300_000)]
public sealed class StressTests
{
    private const int Submitters = 8;
    private const int TasksPerSubmitter = 100_000;
    private const int Window = 512;

    [Test]
    public async Task SubmitAsync_EightSubmittersWithRandomCancellations_EveryTaskEndsExactlyOnce()
    {
        var total = Submitters * TasksPerSubmitter;
        var runs = new int[total];
        var observed = new int[total + 1];
        var observer = new SequenceCountingObserver(observed);
        var nodeLimits = new Dictionary<string, int>(StringComparer.Ordinal) { ["a"] = 3, ["b"] = 1, ["c"] = 2 };
        var inFlight = new ConcurrentDictionary<string, int>();
        var maxInFlight = new ConcurrentDictionary<string, int>();

        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = 2_000)
            .AddNode("a", node => node.WithConcurrency(nodeLimits["a"]))
            .AddNode("b", node => node.WithConcurrency(nodeLimits["b"]))
            .AddNode("c", node => node.WithConcurrency(nodeLimits["c"]))
            .AddObserver(observer)
            .Build();

        var outcomes = new ConcurrentDictionary<TaskState, int>();
        var submitters = Enumerable.Range(0, Submitters).Select(submitter => Task.Run(async () =>
        {
            var random = new Random(1_000 + submitter);
            var pending = new Queue<(TaskHandle Handle, int Index)>();
            for (var i = 0; i < TasksPerSubmitter; i++)
            {
                var index = (submitter * TasksPerSubmitter) + i;
                var yields = random.Next(8) == 0;
                using var tokenSource = random.Next(50) == 0 ? new CancellationTokenSource() : null;
                var handle = await dispatcher.SubmitAsync(
                    async context =>
                    {
                        Interlocked.Increment(ref runs[index]);
                        var now = inFlight.AddOrUpdate(context.NodeName, 1, static (_, n) => n + 1);
                        maxInFlight.AddOrUpdate(context.NodeName, now, (_, max) => Math.Max(max, now));
                        if (yields)
                        {
                            await Task.Yield();
                        }

                        inFlight.AddOrUpdate(context.NodeName, 0, static (_, n) => n - 1);
                    },
                    tokenSource is null ? null : new TaskOptions { CancellationToken = tokenSource.Token });

                tokenSource?.Cancel();
                if (random.Next(20) == 0)
                {
                    handle.Cancel();
                }

                pending.Enqueue((handle, index));
                while (pending.Count > Window)
                {
                    await Settle(pending.Dequeue());
                }
            }

            while (pending.Count > 0)
            {
                await Settle(pending.Dequeue());
            }
        })).ToArray();

        await Task.WhenAll(submitters);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Values.Sum(), Is.EqualTo(total), "handles completed");
            Assert.That(outcomes.Keys, Is.SubsetOf(new[] { TaskState.Completed, TaskState.Cancelled }));
            Assert.That(outcomes.GetValueOrDefault(TaskState.Cancelled), Is.GreaterThan(0), "some tasks were cancelled");
            Assert.That(runs.Max(), Is.LessThanOrEqualTo(1), "no task ran twice");
            Assert.That(observed.Skip(1).All(count => count == 1), Is.True, "the observer heard every task end exactly once");
            Assert.That(observer.Total, Is.EqualTo(total));
            Assert.That(dispatcher.LiveTaskCount, Is.Zero);
            foreach (var (node, max) in maxInFlight)
            {
                Assert.That(max, Is.LessThanOrEqualTo(nodeLimits[node]), $"concurrency on node {node}");
            }
        });

        async Task Settle((TaskHandle Handle, int Index) entry)
        {
            try
            {
                await entry.Handle;
            }
            catch (OperationCanceledException)
            {
            }

            var state = entry.Handle.State;
            outcomes.AddOrUpdate(state, 1, static (_, n) => n + 1);
            if (state == TaskState.Completed && Volatile.Read(ref runs[entry.Index]) != 1)
            {
                Assert.Fail($"Task {entry.Handle.Id} completed but ran {runs[entry.Index]} times.");
            }
        }
    }

    private sealed class SequenceCountingObserver(int[] counts) : ITaskObserver
    {
        private int _total;

        public int Total => Volatile.Read(ref _total);

        public void OnStateChanged(TaskStateChange change)
        {
        }

        public void OnCompleted(TaskHandle task)
        {
            Interlocked.Increment(ref counts[task.SequenceNumber]);
            Interlocked.Increment(ref _total);
        }
    }
}
