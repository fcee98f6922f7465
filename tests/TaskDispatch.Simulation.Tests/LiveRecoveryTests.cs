using Microsoft.Extensions.Time.Testing;

namespace TaskDispatch.Simulation.Tests;

/// <summary>The simulator against the live dispatcher when attempts fail: the same recovery policy object, timeouts and
/// retry delays give every task the same outcome, number of attempts and response time, to the tick.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class LiveRecoveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(15);

    [Test]
    public async Task Timeouts_and_retries_end_alike_live_and_simulated()
    {
        // Twelve tasks, one second apart so that none waits for another, on one slot. Every third task works longer
        // than its 15 ms timeout, so each of its attempts times out; the retry policy gives two retries 10 ms and then
        // 20 ms after a failure, unless the task allows fewer (task 6 allows none).
        const int Tasks = 12;
        TaskOptions Options(int index) => new()
        {
            Timeout = index % 3 == 0 ? Timeout : null,
            MaxRetryAttempts = index == 6 ? 0 : null,
        };
        TimeSpan Work(int index) => TimeSpan.FromMilliseconds(20 + (3 * index));
        IRecoveryPolicy Recovery() => RecoveryPolicy.Retry(options =>
        {
            options.MaxRetryAttempts = 2;
            options.Delay = TimeSpan.FromMilliseconds(10);
            options.BackoffType = DelayBackoffType.Exponential;
        });

        var trace = new TaskTrace(Enumerable.Range(0, Tasks).Select(i => new TraceRecord { Arrival = TimeSpan.FromSeconds(i), Duration = Work(i) })).ToWorkload();
        var workload = new SimulatedWorkload { Count = Tasks, Arrivals = trace.Arrivals, ServiceTime = trace.ServiceTime, Options = (task, _) => Options(task.Index) };
        var simulated = new SimulatedOutcome[Tasks];
        PolicySimulator.Run(workload, [new SimulatedNode("n")], SchedulingPolicy.FirstComeFirstServed(), recovery: Recovery(), onTaskEnded: outcome => simulated[outcome.Index] = outcome);

        var live = await RunLiveAsync(Tasks, Options, Work, Recovery(), simulated);
        Assert.Multiple(() =>
        {
            for (var i = 0; i < Tasks; i++)
            {
                Assert.That(live[i], Is.EqualTo((simulated[i].State, simulated[i].Attempts, simulated[i].Response)), $"task {i}");
            }

            // What the workload was built to show: 3 attempts and 15 + 10 + 15 + 20 + 15 = 75 ms for a task that always
            // times out, one attempt of 15 ms for task 6, which allows no retry.
            Assert.That(simulated[3], Has.Property("State").EqualTo(TaskState.Failed).And.Property("Attempts").EqualTo(3).And.Property("Response").EqualTo(TimeSpan.FromMilliseconds(75)));
            Assert.That(simulated[6], Has.Property("State").EqualTo(TaskState.Failed).And.Property("Attempts").EqualTo(1).And.Property("Response").EqualTo(Timeout));
            Assert.That(simulated[1], Has.Property("State").EqualTo(TaskState.Completed).And.Property("Response").EqualTo(Work(1)));
        });
    }

    [Test]
    public async Task A_node_death_fails_over_alike_live_and_simulated()
    {
        // Two nodes of one slot, round-robin; a 60 ms task every 100 ms. Node "a" dies at 1.03 s, while task 10 runs on
        // it, and comes back at 1.28 s. The default recovery policy moves the killed attempt to "b" at once.
        const int Tasks = 20;
        var work = TimeSpan.FromMilliseconds(60);
        var (death, back) = (TimeSpan.FromMilliseconds(1_030), TimeSpan.FromMilliseconds(1_280));
        var trace = new TaskTrace(Enumerable.Range(0, Tasks).Select(i => new TraceRecord { Arrival = TimeSpan.FromMilliseconds(100 * i), Duration = work }));
        var simulated = new SimulatedOutcome[Tasks];
        PolicySimulator.Run(
            trace.ToWorkload(),
            [new SimulatedNode("a") { Outages = { new SimulatedOutage(death, back - death) } }, new SimulatedNode("b")],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.RoundRobin(),
            onTaskEnded: outcome => simulated[outcome.Index] = outcome);

        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var begin = clock.GetUtcNow();
        var dispatcher = new TaskDispatcherBuilder("live-death")
            .UseTimeProvider(clock)
            .UseAllocation(AllocationStrategy.RoundRobin())
            .AddNode("a", node => node.WithConcurrency(1))
            .AddNode("b", node => node.WithConcurrency(1))
            .Build();
        var starts = new SemaphoreSlim(0);
        var live = new (string? Node, int Attempts, TimeSpan Response)[Tasks];
        var (died, cameBack) = (false, false);
        try
        {
            for (var i = 0; i < Tasks; i++)
            {
                var arrival = TimeSpan.FromMilliseconds(100 * i);
                if (!cameBack && died && back <= arrival)
                {
                    // The attempt given up on "a" returns its slot once its work sees the cancellation; only then is "a"
                    // as empty as the simulator's node that died.
                    await PollAsync(() => dispatcher.Nodes.Single(node => node.Name == "a").ActiveTasks == 0, "the slot of the attempt given up on a");
                    clock.SetUtcNow(begin + back);
                    dispatcher.SetNodeHealth("a", NodeHealth.Healthy);
                    cameBack = true;
                }

                clock.SetUtcNow(begin + arrival);
                var handle = await dispatcher.SubmitAsync(async context =>
                {
                    var running = Task.Delay(work, context.TimeProvider, context.CancellationToken);
                    starts.Release();
                    await running;
                });
                Assert.That(await starts.WaitAsync(TimeSpan.FromSeconds(10)), Is.True, $"task {i} started");
                var end = arrival + work;
                if (!died && death < end)
                {
                    clock.SetUtcNow(begin + death);
                    dispatcher.SetNodeHealth("a", NodeHealth.Unavailable);
                    died = true;
                    Assert.That(await starts.WaitAsync(TimeSpan.FromSeconds(10)), Is.True, $"task {i} started again after its node died");
                    end = death + work;
                }

                clock.SetUtcNow(begin + end);
                await handle.Completion.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(10));
                live[i] = (handle.NodeName, handle.Attempts, handle.EndedAt!.Value - handle.SubmittedAt);
            }
        }
        finally
        {
            clock.Advance(TimeSpan.FromHours(1));
            await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.Zero);
        }

        Assert.Multiple(() =>
        {
            for (var i = 0; i < Tasks; i++)
            {
                Assert.That(live[i], Is.EqualTo(((string?)simulated[i].Node, simulated[i].Attempts, simulated[i].Response)), $"task {i}");
            }

            Assert.That(simulated[10], Has.Property("Node").EqualTo("b").And.Property("Attempts").EqualTo(2).And.Property("Response").EqualTo(TimeSpan.FromMilliseconds(90)), "killed at 30 ms, run again on b");
            Assert.That(simulated.Skip(11).Take(2).Select(outcome => outcome.Node), Is.All.EqualTo("b"), "a is down until 1.28 s");
            Assert.That(simulated.Skip(13).Select(outcome => outcome.Node), Does.Contain("a"), "and takes work again after");
        });
    }

    /// <summary>Runs the tasks one at a time on a dispatcher with one slot and a fake clock: the test submits each at its
    /// arrival, and moves the clock by each attempt's run (its work, or its timeout) and each retry's delay, in the order
    /// the simulator says they happen. It waits for each start and each recorded failure before it moves the clock,
    /// never sleeping.</summary>
    private static async Task<(TaskState State, int Attempts, TimeSpan Response)[]> RunLiveAsync(int tasks, Func<int, TaskOptions> options, Func<int, TimeSpan> work, IRecoveryPolicy recovery, SimulatedOutcome[] expected)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var dispatcher = new TaskDispatcherBuilder("live-recovery")
            .UseTimeProvider(clock)
            .UseRecovery(recovery)
            .AddNode("n", node => node.WithConcurrency(1))
            .Build();
        var starts = new SemaphoreSlim(0);
        var begin = clock.GetUtcNow();
        var results = new (TaskState, int, TimeSpan)[tasks];
        var attemptToken = CancellationToken.None;
        try
        {
            for (var i = 0; i < tasks; i++)
            {
                clock.SetUtcNow(begin + TimeSpan.FromSeconds(i));
                var runFor = work(i);
                var handle = await dispatcher.SubmitAsync(async context =>
                {
                    // The attempt's timeout timer is set before its work starts, so the clock cannot pass it unseen.
                    var running = Task.Delay(runFor, context.TimeProvider, context.CancellationToken);
                    attemptToken = context.CancellationToken;
                    starts.Release();
                    await running;
                }, options(i));

                for (var attempt = 1; attempt <= expected[i].Attempts; attempt++)
                {
                    Assert.That(await starts.WaitAsync(TimeSpan.FromSeconds(10)), Is.True, $"attempt {attempt} of task {i} started");
                    var timesOut = options(i).Timeout is { } timeout && timeout < runFor;
                    if (!timesOut)
                    {
                        clock.Advance(runFor);
                        break;
                    }

                    // The timeout fires on the tick it is due, not one before: its timer cancels the attempt's token at once.
                    clock.Advance(Timeout - TimeSpan.FromTicks(1));
                    Assert.That(attemptToken.IsCancellationRequested, Is.False, $"attempt {attempt} of task {i} timed out early");
                    clock.Advance(TimeSpan.FromTicks(1));

                    // The failure's time is read before it is recorded: once recorded, the retry is due at that time plus
                    // its delay, however late its timer is set.
                    await PollAsync(() => handle.AttemptFailures.Count == attempt, $"the failure of attempt {attempt} of task {i}");
                    if (attempt < expected[i].Attempts)
                    {
                        // Nor does the retry start a tick before its delay is over.
                        clock.Advance(TimeSpan.FromMilliseconds(10 * Math.Pow(2, attempt - 1)) - TimeSpan.FromTicks(1));
                        Assert.That(await starts.WaitAsync(TimeSpan.FromMilliseconds(50)), Is.False, $"attempt {attempt + 1} of task {i} started before its delay was over");
                        clock.Advance(TimeSpan.FromTicks(1));
                    }
                }

                await handle.Completion.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(10));
                results[i] = (handle.State, handle.Attempts, handle.EndedAt!.Value - handle.SubmittedAt);
            }
        }
        finally
        {
            clock.Advance(TimeSpan.FromHours(1));
            await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.Zero);
        }

        return results;
    }

    private static async Task PollAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"waited 10 s for {what}");
            await Task.Delay(1);
        }
    }
}
