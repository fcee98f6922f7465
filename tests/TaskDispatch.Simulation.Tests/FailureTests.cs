namespace TaskDispatch.Simulation.Tests;

/// <summary>Failures in the simulator: failure rates, timeouts and node deaths go to the very recovery policies the
/// dispatcher runs, and what they cost is reported; resources and checkpoints work as in the dispatcher.</summary>
[TestFixture]
public sealed class FailureTests
{
    private static readonly ServiceTime TenMilliseconds = ServiceTime.Fixed(TimeSpan.FromMilliseconds(10));

    [Test]
    public void Failure_rate_matches_the_geometric_number_of_attempts_when_every_failure_is_retried()
    {
        // Each attempt fails with p = 0.2, so attempts per task are geometric: mean 1 / (1 - p) = 1.25, and the
        // restarts per task p / (1 - p) = 0.25 with variance p / (1 - p)^2 = 0.3125.
        const int Tasks = 100_000;
        const double P = 0.2;
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = Tasks, Arrivals = Arrivals.Poisson(500), ServiceTime = ServiceTime.Exponential(TimeSpan.FromMilliseconds(1)), Seed = 3 },
            [new SimulatedNode("a", slots: 2) { FailureRate = P }, new SimulatedNode("b", slots: 2) { FailureRate = P }],
            SchedulingPolicy.FirstComeFirstServed(),
            recovery: RecoveryPolicy.Retry(options => (options.MaxRetryAttempts, options.Delay) = (1_000, TimeSpan.Zero)));
        TestContext.Out.WriteLine(report);

        var expected = Tasks * P / (1 - P);
        var threeSigma = 3 * Math.Sqrt(Tasks * P / ((1 - P) * (1 - P)));
        Assert.Multiple(() =>
        {
            Assert.That(report.TasksCompleted, Is.EqualTo(Tasks));
            Assert.That(report.TasksFailed + report.TasksUnfinished, Is.Zero);
            Assert.That(report.Restarts, Is.EqualTo(report.AttemptsFailed));
            Assert.That(report.Restarts, Is.EqualTo(expected).Within(threeSigma), $"restarts, expected {expected:0} ± {threeSigma:0}");
            Assert.That(report.TasksRecovered, Is.GreaterThan(0).And.LessThanOrEqualTo(report.Restarts));
            Assert.That(report.Recovery.Mean, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(report.Nodes.Sum(node => node.AttemptsFailed), Is.EqualTo(report.AttemptsFailed));
        });
    }

    [Test]
    public void Without_retries_the_failure_rate_is_the_loss_rate()
    {
        // The dispatcher's default policy retries a task's own fault only when the task asks for retries.
        const int Tasks = 50_000;
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = Tasks, Arrivals = Arrivals.Poisson(500), ServiceTime = TenMilliseconds, Seed = 4 },
            [new SimulatedNode("a", slots: 8) { FailureRate = 0.1 }],
            SchedulingPolicy.FirstComeFirstServed());
        var threeSigma = 3 * Math.Sqrt(0.1 * 0.9 / Tasks);
        Assert.Multiple(() =>
        {
            Assert.That(report.LossRate, Is.EqualTo(0.1).Within(threeSigma));
            Assert.That(report.TasksFailed, Is.EqualTo(report.AttemptsFailed));
            Assert.That(report.Restarts, Is.Zero);
            Assert.That(report.TasksCompleted + report.TasksFailed, Is.EqualTo(Tasks));
        });
    }

    [Test]
    public void Every_policy_meets_the_same_failures()
    {
        // Common random numbers: whether an attempt fails depends on the seed, the task, the attempt and the node only.
        HashSet<int> Failed(ISchedulingPolicy policy)
        {
            var failed = new HashSet<int>();
            PolicySimulator.Run(
                new SimulatedWorkload
                {
                    Count = 5_000,
                    Arrivals = Arrivals.Poisson(90),
                    ServiceTime = TenMilliseconds,
                    Seed = 8,
                    Options = (task, random) => new TaskOptions { Priority = random.Next(4) },
                },
                [new SimulatedNode("a") { FailureRate = 0.3 }],
                policy,
                onTaskEnded: outcome =>
                {
                    if (outcome.State == TaskState.Failed)
                    {
                        failed.Add(outcome.Index);
                    }
                });
            return failed;
        }

        var fcfs = Failed(SchedulingPolicy.FirstComeFirstServed());
        Assert.That(fcfs, Has.Count.InRange(1_300, 1_700));
        Assert.That(Failed(SchedulingPolicy.Priority()), Is.EquivalentTo(fcfs));
    }

    [Test]
    public void A_dead_node_s_attempts_fail_over_and_no_task_is_lost()
    {
        // Two nodes of 4 slots, 20 ms tasks at 80 % load; "a" dies for good at 1 s. The default policy moves a node
        // fault to another node at once.
        var endedOn = new List<(string Node, TimeSpan End, int Attempts)>();
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = 2_000, Arrivals = Arrivals.Poisson(160), ServiceTime = ServiceTime.Fixed(TimeSpan.FromMilliseconds(20)), Seed = 9 },
            [new SimulatedNode("a", slots: 4) { Outages = { new SimulatedOutage(TimeSpan.FromSeconds(1)) } }, new SimulatedNode("b", slots: 4)],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.RoundRobin(),
            onTaskEnded: outcome => endedOn.Add((outcome.Node, outcome.Arrival + outcome.Response, outcome.Attempts)));
        TestContext.Out.WriteLine(report);

        var a = report.Nodes.Single(node => node.Name == "a");
        Assert.Multiple(() =>
        {
            Assert.That(report.TasksCompleted, Is.EqualTo(2_000), "no task lost");
            Assert.That(a.Deaths, Is.EqualTo(1));
            Assert.That(a.AttemptsFailed, Is.InRange(1, 4), "the attempts running on a when it died");
            Assert.That(report.Restarts, Is.EqualTo(a.AttemptsFailed));
            Assert.That(report.TasksRecovered, Is.EqualTo(a.AttemptsFailed));
            Assert.That(endedOn.Where(end => end.Node == "a").Max(end => end.End), Is.LessThanOrEqualTo(TimeSpan.FromSeconds(1)), "nothing ends on a dead node");
            Assert.That(endedOn.Where(end => end.Attempts == 2).Select(end => end.Node), Is.All.EqualTo("b"), "failed over to the other node");

            // A killed 20 ms task restarts on b at once when b has room: its recovery is its rerun plus any wait for a slot.
            Assert.That(report.Recovery.Max, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(20)));
        });
    }

    [Test]
    public void A_node_that_comes_back_takes_work_again()
    {
        var endedOn = new List<(string Node, TimeSpan Start)>();
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = 3_000, Arrivals = Arrivals.Poisson(100), ServiceTime = TenMilliseconds, Seed = 10 },
            [new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)), new SimulatedOutage(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1)) } }, new SimulatedNode("b")],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.LeastLoaded(),
            onTaskEnded: outcome => endedOn.Add((outcome.Node, outcome.Arrival + outcome.Wait)));

        var onA = endedOn.Where(end => end.Node == "a").Select(end => end.Start).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(report.Nodes.Single(node => node.Name == "a").Deaths, Is.EqualTo(2));
            Assert.That(onA.Where(start => start >= TimeSpan.FromSeconds(5) && start < TimeSpan.FromSeconds(10)), Is.Empty, "no start while down");
            Assert.That(onA.Where(start => start >= TimeSpan.FromSeconds(10) && start < TimeSpan.FromSeconds(20)), Is.Not.Empty, "work again once back");
            Assert.That(report.TasksCompleted, Is.EqualTo(3_000));
        });
    }

    [Test]
    public void Tasks_only_a_dead_node_could_run_are_reported_unfinished_and_the_run_ends()
    {
        var report = PolicySimulator.Run(
            new SimulatedWorkload
            {
                Count = 100,
                Arrivals = Arrivals.Poisson(10),
                ServiceTime = TenMilliseconds,
                Seed = 11,
                Options = (task, _) => task.Index % 2 == 0 ? new TaskOptions { RequiredNode = "a" } : TaskOptions.Default,
            },
            [new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromSeconds(2)) } }, new SimulatedNode("b")],
            SchedulingPolicy.FirstComeFirstServed());
        TestContext.Out.WriteLine(report);
        Assert.Multiple(() =>
        {
            Assert.That(report.TasksUnfinished, Is.InRange(30, 50), "the tasks for a that arrived after its death, at 2 s of about 10");
            Assert.That(report.TasksCompleted + report.TasksFailed + report.TasksUnfinished, Is.EqualTo(100));
            Assert.That(report.LossRate, Is.EqualTo((report.TasksFailed + report.TasksUnfinished) / 100.0));
        });
    }

    [Test]
    public void A_retry_resumes_from_its_last_checkpoint()
    {
        // One 100 ms task on "a", which dies at 55 ms; it fails over to "b". With checkpoints every 10 ms it resumes
        // at 50 ms of work and ends at 55 + 50 = 105 ms; without, it starts over and ends at 155 ms.
        TimeSpan EndOf(TimeSpan? checkpoints)
        {
            var end = TimeSpan.Zero;
            PolicySimulator.Run(
                new SimulatedWorkload
                {
                    Count = 1,
                    Arrivals = Arrivals.AllAtOnce(),
                    ServiceTime = ServiceTime.Fixed(TimeSpan.FromMilliseconds(100)),
                    CheckpointInterval = checkpoints,
                },
                [new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromMilliseconds(55)) } }, new SimulatedNode("b")],
                SchedulingPolicy.FirstComeFirstServed(),
                onTaskEnded: outcome => end = outcome.Arrival + outcome.Response);
            return end;
        }

        Assert.That(EndOf(TimeSpan.FromMilliseconds(10)), Is.EqualTo(TimeSpan.FromMilliseconds(105)));
        Assert.That(EndOf(null), Is.EqualTo(TimeSpan.FromMilliseconds(155)));
    }

    [Test]
    public void A_timeout_fails_the_attempt_as_in_the_dispatcher()
    {
        Exception? seen = null;
        var recovery = new RecordingPolicy(context => seen = context.Exception);
        var ended = new List<SimulatedOutcome>();
        var report = PolicySimulator.Run(
            new SimulatedWorkload
            {
                Count = 10,
                Arrivals = Arrivals.AllAtOnce(),
                ServiceTime = ServiceTime.Fixed(TimeSpan.FromMilliseconds(50)),
                Options = (task, _) => new TaskOptions { Timeout = task.Index < 3 ? TimeSpan.FromMilliseconds(20) : null },
            },
            [new SimulatedNode("a", slots: 10)],
            SchedulingPolicy.FirstComeFirstServed(),
            recovery: recovery,
            onTaskEnded: ended.Add);
        Assert.Multiple(() =>
        {
            Assert.That(report.TasksFailed, Is.EqualTo(3));
            Assert.That(seen, Is.InstanceOf<TaskTimeoutException>());
            Assert.That(ended.Where(outcome => outcome.State == TaskState.Failed).Select(outcome => outcome.Response), Is.All.EqualTo(TimeSpan.FromMilliseconds(20)), "cut at the timeout");
            Assert.That(ended.Where(outcome => outcome.State == TaskState.Completed).Select(outcome => outcome.Response), Is.All.EqualTo(TimeSpan.FromMilliseconds(50)));
        });
    }

    [Test]
    public void A_retry_pinned_to_the_same_node_waits_for_it()
    {
        var nodes = new List<string>();
        PolicySimulator.Run(
            new SimulatedWorkload { Count = 200, Arrivals = Arrivals.Poisson(50), ServiceTime = TenMilliseconds, Seed = 12 },
            [new SimulatedNode("a") { FailureRate = 0.5 }, new SimulatedNode("b")],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.RoundRobin(),
            recovery: new RecordingPolicy(_ => { }, RecoveryDecision.RetrySameNode()),
            onTaskEnded: outcome =>
            {
                if (outcome.Attempts > 1)
                {
                    nodes.Add(outcome.Node);
                }
            });
        Assert.That(nodes, Is.Not.Empty.And.All.EqualTo("a"), "a retry pinned to a stays on a, though b is free");
    }

    [Test]
    public void Resource_demands_are_placed_only_where_they_fit()
    {
        // "gpu" has 2 GPUs and 8 slots; "cpu" has none. Half the tasks need a GPU: at most 2 of them run at once, all
        // on "gpu", while the others use any slot.
        var runs = new List<(string Node, TimeSpan Start, TimeSpan End, bool Gpu)>();
        var gpu = new SimulatedNode("gpu", slots: 8) { Resources = { ["gpu"] = 2 } };
        var report = PolicySimulator.Run(
            new SimulatedWorkload
            {
                Count = 2_000,
                Arrivals = Arrivals.Poisson(400),
                ServiceTime = TenMilliseconds,
                Seed = 13,
                Options = (task, _) => task.Index % 2 == 0 ? new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["gpu"] = 1 } } : TaskOptions.Default,
            },
            [gpu, new SimulatedNode("cpu", slots: 8)],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.LeastLoaded(),
            onTaskEnded: outcome =>
            {
                var start = outcome.Arrival + outcome.Wait;
                runs.Add((outcome.Node, start, start + outcome.Processing, outcome.Options.ResourceDemand is not null));
            });

        var gpuRuns = runs.Where(run => run.Gpu).ToList();
        var mostAtOnce = gpuRuns.Max(run => gpuRuns.Count(other => other.Start <= run.Start && run.Start < other.End));
        Assert.Multiple(() =>
        {
            Assert.That(report.TasksCompleted, Is.EqualTo(2_000));
            Assert.That(gpuRuns.Select(run => run.Node), Is.All.EqualTo("gpu"));
            Assert.That(mostAtOnce, Is.EqualTo(2));
            Assert.That(runs.Where(run => !run.Gpu).Select(run => run.Node).Distinct(), Is.EquivalentTo(new[] { "gpu", "cpu" }));
        });
    }

    [Test]
    public void Failover_counts_the_node_faults_on_a_later_task_fault()
    {
        // The task's node dies under it (a node fault, failed over), then the other node fails it (a task fault). As
        // from the dispatcher, the policy hears one node fault so far, so the failover wrapper hides that attempt from
        // the inner retry policy (1 retry): the task gets a third attempt before it fails.
        var attempts = 0;
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = 1, Arrivals = Arrivals.AllAtOnce(), ServiceTime = ServiceTime.Fixed(TimeSpan.FromMilliseconds(100)) },
            [new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromMilliseconds(5)) } }, new SimulatedNode("b") { FailureRate = 1 }],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.LeastLoaded(),
            RecoveryPolicy.Retry(options => (options.MaxRetryAttempts, options.Delay) = (1, TimeSpan.Zero)).WithFailover(),
            onTaskEnded: outcome => attempts = outcome.Attempts);
        Assert.That((report.TasksFailed, attempts), Is.EqualTo((1L, 3)));
    }

    [Test]
    public void Tasks_set_aside_keep_their_order()
    {
        // FCFS on x, y and z, one slot each. A and C need x, B needs y; all three wait aside while x and y are busy. When y
        // frees, B takes it and A and C stay aside in their order, so when x frees, A (first come) starts before C.
        static TraceRecord Task(double arrival, double duration, string node) =>
            new() { Arrival = TimeSpan.FromMilliseconds(arrival), Duration = TimeSpan.FromMilliseconds(duration), RequiredNode = node };
        var starts = new Dictionary<int, TimeSpan>();
        PolicySimulator.Run(
            new TaskTrace([Task(0, 100, "x"), Task(0, 50, "y"), Task(1, 10, "x"), Task(2, 10, "y"), Task(3, 10, "x"), Task(4, 1_000, "z")]).ToWorkload(),
            [new SimulatedNode("x"), new SimulatedNode("y"), new SimulatedNode("z")],
            SchedulingPolicy.FirstComeFirstServed(),
            onTaskEnded: outcome => starts[outcome.Index] = outcome.Arrival + outcome.Wait);
        Assert.That((starts[2], starts[4]), Is.EqualTo((TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(110))), "A (task 2) at 100 ms, C (task 4) after it");
    }

    [Test]
    public void Nothing_starts_on_a_node_in_the_instant_it_dies()
    {
        // Two nodes of one slot and four 10 ms tasks at once; "a" dies at 10 ms, just as its first task ends. That task
        // has completed; the third must not start on "a" only to be killed, so no attempt fails at all.
        var nodes = new List<string>();
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = 4, Arrivals = Arrivals.AllAtOnce(), ServiceTime = TenMilliseconds },
            [new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromMilliseconds(10)) } }, new SimulatedNode("b")],
            SchedulingPolicy.FirstComeFirstServed(),
            onTaskEnded: outcome => nodes.Add(outcome.Node));
        Assert.Multiple(() =>
        {
            Assert.That((report.TasksCompleted, report.AttemptsFailed, report.Restarts), Is.EqualTo((4L, 0L, 0L)));
            Assert.That(nodes.Count(node => node == "a"), Is.EqualTo(1));
            Assert.That(report.Makespan, Is.EqualTo(TimeSpan.FromMilliseconds(30)));
        });
    }

    [Test]
    public void The_makespan_ends_with_the_last_task_even_when_tasks_are_stranded()
    {
        // One 100 s task on a node that dies for good at 1 s, and one 10 ms task on a node that lives: the run ends with
        // the first unfinished, and the makespan is the second's end, not the time the killed attempt would have ended.
        var report = PolicySimulator.Run(
            new TaskTrace(
            [
                new TraceRecord { Arrival = TimeSpan.Zero, Duration = TimeSpan.FromSeconds(100), RequiredNode = "doomed" },
                new TraceRecord { Arrival = TimeSpan.Zero, Duration = TimeSpan.FromMilliseconds(10), RequiredNode = "alive" },
            ]).ToWorkload(),
            [new SimulatedNode("doomed") { Outages = { new SimulatedOutage(TimeSpan.FromMilliseconds(5)) } }, new SimulatedNode("alive")],
            SchedulingPolicy.FirstComeFirstServed());
        Assert.Multiple(() =>
        {
            Assert.That((report.TasksCompleted, report.TasksUnfinished), Is.EqualTo((1L, 1L)));
            Assert.That(report.Makespan, Is.EqualTo(TimeSpan.FromMilliseconds(10)));
            Assert.That(report.Nodes.Single(node => node.Name == "doomed").Utilization, Is.EqualTo(0.5), "busy 5 ms of 10");
        });
    }

    [Test]
    public void Same_seed_same_report_with_failures()
    {
        SimulationReport Run() => PolicySimulator.Run(
            new SimulatedWorkload { Count = 20_000, Arrivals = Arrivals.Poisson(700), ServiceTime = ServiceTime.LogNormal(TimeSpan.FromMilliseconds(2), 1), Seed = 14, CheckpointInterval = TimeSpan.FromMilliseconds(1) },
            [new SimulatedNode("a", 2) { FailureRate = 0.05, Outages = { new SimulatedOutage(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2)) } }, new SimulatedNode("b", 2) { FailureRate = 0.02 }],
            SchedulingPolicy.ShortestJobFirst(),
            AllocationStrategy.LeastLoaded(),
            RecoveryPolicy.Retry(options => (options.Delay, options.BackoffType, options.UseJitter, options.Random) = (TimeSpan.FromMilliseconds(5), DelayBackoffType.Exponential, true, new Random(1))).WithFailover());

        var (first, second) = (Run(), Run());
        Assert.Multiple(() =>
        {
            Assert.That(second.Waiting, Is.EqualTo(first.Waiting));
            Assert.That(second.Recovery, Is.EqualTo(first.Recovery));
            Assert.That((second.AttemptsFailed, second.Restarts, second.TasksFailed), Is.EqualTo((first.AttemptsFailed, first.Restarts, first.TasksFailed)));
            Assert.That(first.AttemptsFailed, Is.GreaterThan(0));
        });
    }

    [Test]
    public void Bad_failure_settings_are_refused_where_they_are_given()
    {
        var workload = new SimulatedWorkload { Count = 1, Arrivals = Arrivals.AllAtOnce(), ServiceTime = TenMilliseconds };
        Assert.Multiple(() =>
        {
            Assert.That(() => new SimulatedNode("a") { FailureRate = 1.5 }, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("FailureRate"));
            Assert.That(() => new SimulatedOutage(TimeSpan.FromSeconds(-1)), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("at"));
            Assert.That(() => new SimulatedOutage(TimeSpan.Zero, TimeSpan.Zero), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("duration"));
            var overlapping = new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)), new SimulatedOutage(TimeSpan.FromSeconds(3)) } };
            Assert.That(() => PolicySimulator.Run(workload, [overlapping], SchedulingPolicy.FirstComeFirstServed()), Throws.ArgumentException.With.Message.Contains("overlap"));
            var permanentFirst = new SimulatedNode("a") { Outages = { new SimulatedOutage(TimeSpan.FromSeconds(1)), new SimulatedOutage(TimeSpan.FromSeconds(3)) } };
            Assert.That(() => PolicySimulator.Run(workload, [permanentFirst], SchedulingPolicy.FirstComeFirstServed()), Throws.ArgumentException.With.Message.Contains("last"));
            Assert.That(() => PolicySimulator.Run(new SimulatedWorkload { Count = 1, Arrivals = Arrivals.AllAtOnce(), ServiceTime = TenMilliseconds, CheckpointInterval = TimeSpan.Zero }, [new SimulatedNode("a")], SchedulingPolicy.FirstComeFirstServed()),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("CheckpointInterval"));
            var tooBig = new SimulatedWorkload { Count = 1, Arrivals = Arrivals.AllAtOnce(), ServiceTime = TenMilliseconds, Options = (_, _) => new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["gpu"] = 3 } } };
            Assert.That(() => PolicySimulator.Run(tooBig, [new SimulatedNode("a") { Resources = { ["gpu"] = 2 } }], SchedulingPolicy.FirstComeFirstServed()), Throws.InvalidOperationException.With.Message.Contains("resources"));
            var failing = new SimulatedNode("a") { FailureRate = 1 };
            Assert.That(() => PolicySimulator.Run(workload, [failing], SchedulingPolicy.FirstComeFirstServed(), recovery: new RecordingPolicy(_ => { }, RecoveryDecision.Retry())),
                Throws.InvalidOperationException.With.Message.Contains("10000 attempts"), "a retry bound to fail forever ends the run instead of hanging it");
            Assert.That(() => PolicySimulator.Run(workload, [failing], SchedulingPolicy.FirstComeFirstServed(), recovery: new RecordingPolicy(_ => throw new InvalidCastException("bug"))),
                Throws.InvalidOperationException.With.Message.Contains("recovery policy").And.InnerException.TypeOf<InvalidCastException>());
        });
    }

    /// <summary>A recovery policy that shows the test each failure and answers the same every time (give up by default).</summary>
    private sealed class RecordingPolicy(Action<RecoveryContext> onFailure, RecoveryDecision decision = default) : IRecoveryPolicy
    {
        public RecoveryDecision Decide(in RecoveryContext context)
        {
            onFailure(context);
            return decision;
        }
    }
}
