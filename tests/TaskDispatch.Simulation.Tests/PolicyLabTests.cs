namespace TaskDispatch.Simulation.Tests;

[TestFixture]
[CancelAfter(300_000)]
public sealed class PolicyLabTests
{
    private static readonly ServiceTime Hour = ServiceTime.Fixed(TimeSpan.FromHours(1));

    [Test]
    public void A_workload_and_a_seed_always_give_the_same_report()
    {
        SimulationReport Run(int seed) => PolicySimulator.Run(
            new SimulatedWorkload { Count = 50_000, Arrivals = Arrivals.Poisson(1_800), ServiceTime = ServiceTime.LogNormal(TimeSpan.FromMilliseconds(1), 0.8), Seed = seed },
            [new SimulatedNode("a", 1), new SimulatedNode("b", 2, speed: 0.5)],
            SchedulingPolicy.ShortestJobFirst(),
            AllocationStrategy.PowerOfTwoChoices(new Random(seed)));

        var first = Run(3);
        var again = Run(3);
        var other = Run(4);
        Assert.That((again.Waiting, again.Response, again.Makespan), Is.EqualTo((first.Waiting, first.Response, first.Makespan)));
        Assert.That(again.Nodes, Is.EqualTo(first.Nodes));
        Assert.That(other.Waiting, Is.Not.EqualTo(first.Waiting));
    }

    [Test]
    public void Allocation_over_100_nodes_balances_as_balls_into_bins_predicts()
    {
        // n tasks onto n nodes at once (nothing ends meanwhile): the most loaded node's count is the classic maximum load.
        const int Nodes = 100;
        const int Trials = 300;
        var nodes = Enumerable.Range(0, Nodes).Select(i => new SimulatedNode($"n{i}", slots: Nodes)).ToArray();
        var workload = new SimulatedWorkload { Count = Nodes, Arrivals = Arrivals.AllAtOnce(), ServiceTime = Hour };
        double MeanMaximum(Func<int, IAllocationStrategy> strategy) => Enumerable.Range(0, Trials)
            .Average(trial => PolicySimulator.Run(workload, nodes, SchedulingPolicy.FirstComeFirstServed(), strategy(trial)).Nodes.Max(node => node.TasksRun));

        var random = MeanMaximum(trial => AllocationStrategy.Random(new Random(trial)));
        var twoChoices = MeanMaximum(trial => AllocationStrategy.PowerOfTwoChoices(new Random(trial)));
        var leastLoaded = MeanMaximum(_ => AllocationStrategy.LeastLoaded());
        var lnN = Math.Log(Nodes);
        TestContext.Out.WriteLine($"{Nodes} tasks on {Nodes} nodes, mean maximum load over {Trials} trials: random {random:0.00} (ln n / ln ln n = {lnN / Math.Log(lnN):0.00}), " +
            $"power of two choices {twoChoices:0.00} (ln ln n / ln 2 = {Math.Log(lnN) / Math.Log(2):0.00}), least loaded {leastLoaded:0.00}");

        // Θ(ln n / ln ln n) for random: within a small constant factor of the leading term.
        Assert.That(random, Is.InRange(lnN / Math.Log(lnN), 2.5 * lnN / Math.Log(lnN)));

        // ln ln n / ln 2 + O(1) for two choices, and well below random.
        Assert.That(twoChoices, Is.LessThanOrEqualTo((Math.Log(lnN) / Math.Log(2)) + 1.5));
        Assert.That(twoChoices, Is.LessThan(random - 1));
        Assert.That(leastLoaded, Is.EqualTo(1), "least loaded fills every node once before any twice");
    }

    [Test]
    public void Weighted_random_shares_follow_the_weights()
    {
        const int Tasks = 20_000;
        double[] weights = [1, 2, 3, 4];
        var nodes = weights.Select((weight, i) => new SimulatedNode($"w{weight}", slots: Tasks, weight: weight)).ToArray();
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = Tasks, Arrivals = Arrivals.AllAtOnce(), ServiceTime = Hour },
            nodes,
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.WeightedRandom(new Random(11)));

        var chiSquare = report.Nodes.Select((node, i) => Math.Pow(node.TasksRun - (Tasks * weights[i] / weights.Sum()), 2) / (Tasks * weights[i] / weights.Sum())).Sum();
        TestContext.Out.WriteLine($"weights 1:2:3:4 over {Tasks} tasks: {string.Join(", ", report.Nodes.Select(node => node.TasksRun))}, chi-square {chiSquare:0.00} (critical value 16.27 at 99.9 %, 3 degrees of freedom)");
        Assert.That(chiSquare, Is.LessThan(16.27));
    }

    [Test]
    public void Weighted_fair_share_serves_each_backlogged_key_in_proportion_to_its_weight()
    {
        const int PerKey = 3_000;
        var weights = new Dictionary<string, double> { ["a"] = 1, ["b"] = 2, ["c"] = 3 };
        string[] keys = ["a", "b", "c"];
        var served = new Dictionary<string, int>(StringComparer.Ordinal);
        var ended = 0;
        PolicySimulator.Run(
            new SimulatedWorkload
            {
                Count = 3 * PerKey,
                Arrivals = Arrivals.AllAtOnce(),
                ServiceTime = ServiceTime.Fixed(TimeSpan.FromMilliseconds(1)),
                Options = (task, _) => new TaskOptions { FairnessKey = keys[task.Index % 3] },
            },
            [new SimulatedNode("server")],
            SchedulingPolicy.WeightedFairShare(options =>
            {
                foreach (var (key, weight) in weights)
                {
                    options.Weights[key] = weight;
                }
            }),
            fairnessWeights: weights,
            onTaskEnded: outcome =>
            {
                // While every key is backlogged: the heaviest key (half the service) runs out after 2 × PerKey ends.
                if (++ended <= PerKey)
                {
                    var key = outcome.Options.FairnessKey!;
                    served[key] = served.GetValueOrDefault(key) + 1;
                }
            });

        foreach (var key in keys)
        {
            var share = served[key] / (double)PerKey;
            var expected = weights[key] / weights.Values.Sum();
            TestContext.Out.WriteLine($"key {key}, weight {weights[key]}: {share:P2} of the service (expected {expected:P2})");
            Assert.That(Math.Abs(share - expected) / expected, Is.LessThan(0.05), key);
        }
    }

    [Test]
    public void Bad_input_is_refused_naming_what_is_wrong()
    {
        var workload = new SimulatedWorkload { Count = 10, Arrivals = Arrivals.AllAtOnce(), ServiceTime = Hour };
        Assert.That(() => PolicySimulator.Run(workload, [], SchedulingPolicy.FirstComeFirstServed()), Throws.ArgumentException.With.Message.Contains("at least one node"));
        Assert.That(() => PolicySimulator.Run(workload, [new SimulatedNode("a"), new SimulatedNode("a")], SchedulingPolicy.FirstComeFirstServed()), Throws.ArgumentException.With.Message.Contains("unique"));
        Assert.That(() => PolicySimulator.Run(new SimulatedWorkload { Count = 0, Arrivals = Arrivals.AllAtOnce(), ServiceTime = Hour }, [new SimulatedNode("a")], SchedulingPolicy.FirstComeFirstServed()),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Count"));
        var pinned = new SimulatedWorkload { Count = 10, Arrivals = Arrivals.AllAtOnce(), ServiceTime = Hour, Options = static (_, _) => new TaskOptions { RequiredNode = "gpu" } };
        Assert.That(() => PolicySimulator.Run(pinned, [new SimulatedNode("a")], SchedulingPolicy.FirstComeFirstServed()),
            Throws.InvalidOperationException.With.Message.Contains("no simulated node"));
        Assert.That(() => ServiceTime.Pareto(TimeSpan.FromMilliseconds(1), 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alpha"));
        Assert.That(() => ServiceTime.Exponential(TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("mean"));
        Assert.That(() => Arrivals.Poisson(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("perSecond"));
        Assert.That(() => new SimulatedNode("a", slots: 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("slots"));

        Assert.That(() => PolicySimulator.Run(workload, [new SimulatedNode("a")], new NonEmptyPolicy()), Throws.ArgumentException.With.Message.Contains("fresh"));
    }

    [Test]
    public void Service_shares_follow_the_service_each_key_received()
    {
        var report = PolicySimulator.Run(
            new SimulatedWorkload
            {
                Count = 4,
                Arrivals = Arrivals.AllAtOnce(),
                ServiceTime = ServiceTime.Fixed(TimeSpan.FromMilliseconds(10)),
                Options = (task, _) => new TaskOptions { FairnessKey = task.Index < 3 ? "a" : "b" },
            },
            [new SimulatedNode("n")],
            SchedulingPolicy.FirstComeFirstServed());
        Assert.Multiple(() =>
        {
            Assert.That(report.ServiceShares["a"], Is.EqualTo(0.75).Within(1e-12));
            Assert.That(report.ServiceShares["b"], Is.EqualTo(0.25).Within(1e-12));
            Assert.That(report.Fairness, Is.EqualTo(16.0 / 20).Within(1e-12), "Jain over (3, 1): 16 / (2 x 10)");
            Assert.That(report.ToString(), Does.Contain("service shares a 75.0%, b 25.0%").Or.Contain("service shares a 75.0 %, b 25.0 %"));
        });
    }

    [Test]
    public void Speed_and_weights_show_in_utilization_and_processing()
    {
        var report = PolicySimulator.Run(
            new SimulatedWorkload { Count = 40_000, Arrivals = Arrivals.Poisson(1_000), ServiceTime = ServiceTime.Exponential(TimeSpan.FromMilliseconds(1)), Seed = 5 },
            [new SimulatedNode("slow", speed: 1), new SimulatedNode("fast", speed: 4)],
            SchedulingPolicy.FirstComeFirstServed(),
            AllocationStrategy.RoundRobin());
        TestContext.Out.WriteLine(report);
        var slow = report.Nodes.Single(node => node.Name == "slow");
        var fast = report.Nodes.Single(node => node.Name == "fast");
        Assert.That(slow.Utilization, Is.GreaterThan(2 * fast.Utilization), "the same tasks keep a 4x faster node busy a quarter as long");
        Assert.That(report.Processing.Mean, Is.LessThan(TimeSpan.FromMilliseconds(1)));

        // Sizes do not depend on the node, so the mean processing time is the nodes' mix of 1 ms and 1/4 ms; the fast node
        // is free more often, so it runs more than half.
        var expected = ((slow.TasksRun * 1.0) + (fast.TasksRun * 0.25)) / (slow.TasksRun + fast.TasksRun);
        Assert.That(report.Processing.Mean.TotalMilliseconds, Is.EqualTo(expected).Within(5).Percent);
        Assert.That(fast.TasksRun, Is.GreaterThan(slow.TasksRun));
        Assert.That(fast.TasksRun + slow.TasksRun, Is.EqualTo(40_000));
    }

    /// <summary>A policy that claims to hold a task already.</summary>
    private sealed class NonEmptyPolicy : ISchedulingPolicy
    {
        public int Count => 1;

        public void Enqueue(TaskHandle task)
        {
        }

        public bool TryDequeue([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TaskHandle task)
        {
            task = null;
            return false;
        }

        public bool Remove(TaskHandle task) => false;
    }
}
