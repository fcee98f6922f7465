using Microsoft.Extensions.Time.Testing;

namespace TaskDispatch.Simulation.Tests;

/// <summary>The simulator against the live dispatcher: the same workload on one slot, the dispatcher on a fake clock that
/// the test moves from event to event, must start the tasks in the same order under each built-in policy.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class LiveDispatcherTests
{
    private const int Tasks = 60;

    private static IEnumerable<TestCaseData> Policies()
    {
        yield return new TestCaseData("FCFS", (Func<ISchedulingPolicy>)SchedulingPolicy.FirstComeFirstServed, false);
        yield return new TestCaseData("SJF, given estimates", (Func<ISchedulingPolicy>)(() => SchedulingPolicy.ShortestJobFirst()), true);
        yield return new TestCaseData("SJF, learned per kind", (Func<ISchedulingPolicy>)(() => SchedulingPolicy.ShortestJobFirst()), false);
        yield return new TestCaseData("Priority", (Func<ISchedulingPolicy>)(() => SchedulingPolicy.Priority()), false);
        yield return new TestCaseData("Priority, aging", (Func<ISchedulingPolicy>)(() => SchedulingPolicy.Priority(options => options.AgingInterval = TimeSpan.FromMilliseconds(50))), false);
        yield return new TestCaseData("EDF", (Func<ISchedulingPolicy>)(() => SchedulingPolicy.EarliestDeadlineFirst()), false);
        yield return new TestCaseData("Fair share", (Func<ISchedulingPolicy>)(() => SchedulingPolicy.WeightedFairShare(options => options.Weights["b"] = 3)), false);
    }

    [TestCaseSource(nameof(Policies))]
    public async Task The_live_dispatcher_starts_tasks_in_the_simulators_order(string name, Func<ISchedulingPolicy> policy, bool givesEstimates)
    {
        // Arrivals at about the service rate, so that a queue builds and drains; sizes of two kinds, so that SJF learns.
        var workload = new SimulatedWorkload
        {
            Count = Tasks,
            Arrivals = Arrivals.Poisson(90),
            ServiceTime = ServiceTime.Bimodal(0.7, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(6), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)),
            Seed = 17,
            Options = (task, random) => new TaskOptions
            {
                Priority = random.Next(3),
                Deadline = DateTimeOffset.UnixEpoch + task.Arrival + TimeSpan.FromMilliseconds(random.Next(5, 200)),
                FairnessKey = random.Next(2) == 0 ? "a" : "b",
                EstimatedDuration = givesEstimates ? task.ServiceTime : null,

                // The live dispatcher knows a task's kind from its options only (a lambda's tasks are all of one kind).
                Kind = task.Kind,
            },
        };

        var simulated = new List<(int Index, TimeSpan Arrival, TimeSpan Service, TaskOptions Options, TimeSpan Start)>();
        PolicySimulator.Run(workload, [new SimulatedNode("n")], policy(), onTaskEnded: outcome =>
            simulated.Add((outcome.Index, outcome.Arrival, outcome.Processing, outcome.Options, outcome.Arrival + outcome.Wait)));
        var simulatedOrder = simulated.OrderBy(task => task.Start).ThenBy(task => task.Index).Select(task => task.Index).ToList();
        var tasks = simulated.OrderBy(task => task.Index).ToList();

        var liveOrder = await RunLiveAsync(tasks.Select(task => (task.Arrival, task.Service, task.Options)).ToList(), policy());
        TestContext.Out.WriteLine($"{name}: simulated {string.Join(",", simulatedOrder.Take(20))}...");
        Assert.That(liveOrder, Is.EqualTo(simulatedOrder), name);
    }

    /// <summary>Runs the tasks on a dispatcher with one slot and a fake clock: the test submits each task at its arrival
    /// and moves the clock to the running task's end, then waits for the next start, never sleeping. Like the simulator,
    /// an end comes before an arrival at the same instant.</summary>
    private static async Task<List<int>> RunLiveAsync(List<(TimeSpan Arrival, TimeSpan Service, TaskOptions Options)> tasks, ISchedulingPolicy policy)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var dispatcher = new TaskDispatcherBuilder("live")
            .UseTimeProvider(clock)
            .UseScheduling(policy)
            .AddNode("n", node => node.WithConcurrency(1))
            .Build();
        var order = new List<int>();
        var starts = new SemaphoreSlim(0);
        var next = 0;
        TimeSpan? runningEnd = null;
        try
        {
            await RunAsync();
        }
        finally
        {
            // Whatever happened, the fake clock moves past every end and the dispatcher stops, so that nothing hangs.
            clock.Advance(TimeSpan.FromHours(1));
            await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.Zero);
        }

        return order;

        async Task RunAsync()
        {
        while (order.Count < tasks.Count)
        {
            if (runningEnd is null)
            {
                // Idle: the next arrival starts at once.
                MoveTo(tasks[next].Arrival);
                await SubmitAsync(next++);
                runningEnd = tasks[await NextStartAsync()].Service + tasks[next - 1].Arrival;
                continue;
            }

            while (next < tasks.Count && tasks[next].Arrival < runningEnd)
            {
                MoveTo(tasks[next].Arrival);
                await SubmitAsync(next++);
            }

            // The running task ends; if anything waits, the policy's next one starts.
            var endedAt = runningEnd.Value;
            MoveTo(endedAt);
            runningEnd = next > order.Count ? endedAt + tasks[await NextStartAsync()].Service : null;
        }

        }

        void MoveTo(TimeSpan at) => clock.SetUtcNow(DateTimeOffset.UnixEpoch + at);

        async Task SubmitAsync(int index)
        {
            var (_, service, options) = tasks[index];
            await dispatcher.SubmitAsync(async context =>
            {
                // The timer is set before the test hears of the start, so the clock cannot move past its end unseen.
                var work = Task.Delay(service, context.TimeProvider, context.CancellationToken);
                lock (order)
                {
                    order.Add(index);
                }

                starts.Release();
                await work;
            }, options);
        }

        async Task<int> NextStartAsync()
        {
            if (!await starts.WaitAsync(TimeSpan.FromSeconds(10)))
            {
                Assert.Fail($"The dispatcher did not start a task after {string.Join(",", order)}; {next} submitted.");
            }

            lock (order)
            {
                return order[^1];
            }
        }
    }
}
