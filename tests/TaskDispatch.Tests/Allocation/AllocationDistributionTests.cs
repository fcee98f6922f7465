using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Allocation;

/// <summary>How the built-in strategies spread tasks: goodness-of-fit for the random ones (seeded, so reproducible),
/// exact counts for the deterministic ones, and a load-balancing simulation.</summary>
[TestFixture]
public sealed class AllocationDistributionTests
{
    private const int Picks = 100_000;

    /// <summary>Chi-square critical values at significance 0.001, by degrees of freedom.</summary>
    private static readonly Dictionary<int, double> s_critical = new()
    {
        [1] = 10.828,
        [2] = 13.816,
        [3] = 16.266,
        [4] = 18.467,
        [5] = 20.515,
    };

    [Test]
    public void SelectNode_RandomOverFiveEqualNodes_IsUniform()
    {
        var strategy = new RandomAllocationStrategy(new Random(12_345));
        var nodes = Nodes(5);
        var counts = Count(strategy, nodes, Picks);

        var chiSquare = ChiSquare(counts, [1, 1, 1, 1, 1]);

        TestContext.Out.WriteLine($"counts {string.Join(", ", counts)}; chi-square {chiSquare:F3} (df 4, critical {s_critical[4]})");
        Assert.That(chiSquare, Is.LessThan(s_critical[4]));
    }

    [Test]
    public void SelectNode_WeightedRandomWeights1234And0_MatchesWeightsAndNeverPicksZero()
    {
        var strategy = new WeightedRandomAllocationStrategy(new Random(12_345));
        double[] weights = [1, 2, 3, 4, 0];
        var nodes = weights.Select((weight, i) => new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(1).WithWeight(weight))).ToArray();
        var counts = Count(strategy, nodes, Picks);

        var chiSquare = ChiSquare(counts[..4], weights[..4]);

        TestContext.Out.WriteLine($"counts {string.Join(", ", counts)}; chi-square {chiSquare:F3} (df 3, critical {s_critical[3]})");
        Assert.Multiple(() =>
        {
            Assert.That(counts[4], Is.Zero, "the node of weight 0 was chosen");
            Assert.That(counts.Sum(), Is.EqualTo(Picks), "the strategy declined although nodes had weight");
            Assert.That(chiSquare, Is.LessThan(s_critical[3]));
        });
    }

    [Test]
    public void SelectNode_WeightedRandomZeroWeightFirstAndLast_NeverPicksThem()
    {
        var strategy = new WeightedRandomAllocationStrategy(new Random(99));
        double[] weights = [0, 1, 0, 1, 0];
        var nodes = weights.Select((weight, i) => new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(1).WithWeight(weight))).ToArray();

        var counts = Count(strategy, nodes, Picks);

        Assert.That(counts[0] + counts[2] + counts[4], Is.Zero);
        Assert.That(ChiSquare([counts[1], counts[3]], [1, 1]), Is.LessThan(s_critical[1]));
    }

    [Test]
    public void SelectNode_RoundRobinOverFiveNodes_RotatesExactly()
    {
        var strategy = new RoundRobinAllocationStrategy();
        var nodes = Nodes(5);
        var counts = new int[5];

        for (var i = 0; i < Picks; i++)
        {
            var chosen = strategy.SelectNode(Tasks.Create(), nodes);
            if (chosen != i % 5)
            {
                Assert.Fail($"pick {i} chose {chosen}, expected {i % 5}");
            }

            counts[chosen]++;
        }

        Assert.That(counts, Is.EqualTo(new[] { 20_000, 20_000, 20_000, 20_000, 20_000 }));
    }

    [Test]
    public void SelectNode_LeastLoadedRandomLoads_PicksAMinimumLoad()
    {
        var strategy = new LeastLoadedAllocationStrategy();
        var random = new Random(31);
        var nodes = Enumerable.Range(0, 8).Select(i => new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(1 + i))).ToArray();

        for (var pick = 0; pick < 10_000; pick++)
        {
            for (var i = 0; i < nodes.Length; i++)
            {
                nodes[i] = nodes[i] with { ActiveTasks = random.Next(nodes[i].MaxConcurrency) };
            }

            var chosen = strategy.SelectNode(Tasks.Create(), nodes);
            var min = nodes.Min(n => n.Load);
            if (nodes[chosen].Load != min)
            {
                Assert.Fail($"pick {pick} chose {nodes[chosen]} (load {nodes[chosen].Load}) although the minimum load was {min}");
            }
        }
    }

    [Test]
    public void SelectNode_LeastLoadedEqualLoads_SharesInRotation()
    {
        var strategy = new LeastLoadedAllocationStrategy();
        var nodes = Nodes(5);
        var counts = new int[5];

        for (var i = 0; i < Picks; i++)
        {
            var chosen = strategy.SelectNode(Tasks.Create(), nodes);
            if (chosen != i % 5)
            {
                Assert.Fail($"pick {i} chose {chosen}, expected {i % 5}");
            }

            counts[chosen]++;
        }

        Assert.That(counts, Is.EqualTo(new[] { 20_000, 20_000, 20_000, 20_000, 20_000 }));
    }

    [Test]
    public void SelectNode_LeastLoadedTieAmongSomeNodes_SharesAmongTheTiedOnly()
    {
        // Loads 2/4, 1/4, 3/4, 1/4, 2/4, 1/4: nodes 1, 3 and 5 tie at the minimum and take turns; the others never win.
        var strategy = new LeastLoadedAllocationStrategy();
        var nodes = Enumerable.Range(0, 6).Select(i => new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(4))).ToArray();
        int[] active = [2, 1, 3, 1, 2, 1];
        for (var i = 0; i < nodes.Length; i++)
        {
            nodes[i] = nodes[i] with { ActiveTasks = active[i] };
        }

        var counts = new int[6];
        for (var i = 0; i < 30_000; i++)
        {
            counts[strategy.SelectNode(Tasks.Create(), nodes)]++;
        }

        Assert.That(counts, Is.EqualTo(new[] { 0, 10_000, 0, 10_000, 0, 10_000 }));
    }

    [Test]
    public void SelectNode_LeastLoadedEqualLoadsChangingSubsets_EveryNodeGetsItsTurn()
    {
        // Equal loads but only some nodes eligible at times: the rotation continues from the last pick.
        var strategy = new LeastLoadedAllocationStrategy();
        var all = Nodes(4);
        var round = new RoundRobinAllocationStrategy();
        var random = new Random(5);

        for (var i = 0; i < 10_000; i++)
        {
            var subset = all.Where(_ => random.Next(3) != 0).ToArray();
            if (subset.Length == 0)
            {
                continue;
            }

            // With equal loads least-loaded must behave exactly like round-robin over the same subsets.
            var expected = subset[round.SelectNode(Tasks.Create(), subset)].Index;
            var actual = subset[strategy.SelectNode(Tasks.Create(), subset)].Index;
            if (actual != expected)
            {
                Assert.Fail($"step {i}: least-loaded chose node {actual}, round-robin node {expected}, among [{string.Join(", ", subset.Select(n => n.Index))}]");
            }
        }
    }

    [Test]
    public void SelectNode_PowerOfTwoChoicesTwoCandidates_AlwaysPicksTheLessLoaded()
    {
        var strategy = new PowerOfTwoChoicesAllocationStrategy(new Random(7));
        var random = new Random(8);
        var nodes = Nodes(2, concurrency: 10);

        for (var i = 0; i < 10_000; i++)
        {
            nodes[0] = nodes[0] with { ActiveTasks = random.Next(10) };
            nodes[1] = nodes[1] with { ActiveTasks = random.Next(10) };
            var chosen = strategy.SelectNode(Tasks.Create(), nodes);
            if (nodes[chosen].Load > nodes[1 - chosen].Load)
            {
                Assert.Fail($"pick {i} chose {nodes[chosen]} over {nodes[1 - chosen]}");
            }
        }
    }

    [Test]
    public void SelectNode_PowerOfTwoChoicesRecordedSamples_NeverPicksTheMoreLoadedSample()
    {
        // Watch the generator: the strategy's two samples are the two indices it draws (the second skips the first).
        var generator = new RecordingRandom(11);
        var strategy = new PowerOfTwoChoicesAllocationStrategy(generator);
        var random = new Random(12);
        var nodes = Nodes(10, concurrency: 8);

        for (var i = 0; i < 10_000; i++)
        {
            for (var n = 0; n < nodes.Length; n++)
            {
                nodes[n] = nodes[n] with { ActiveTasks = random.Next(8) };
            }

            generator.Draws.Clear();
            var chosen = strategy.SelectNode(Tasks.Create(), nodes);
            Assert.That(generator.Draws, Has.Count.EqualTo(2), "expected exactly two samples");
            var first = generator.Draws[0];
            var second = generator.Draws[1] >= first ? generator.Draws[1] + 1 : generator.Draws[1];
            if (chosen != first && chosen != second)
            {
                Assert.Fail($"pick {i} chose {chosen}, which was not sampled ({first}, {second})");
            }

            var other = chosen == first ? second : first;
            if (nodes[chosen].Load > nodes[other].Load)
            {
                Assert.Fail($"pick {i} chose {nodes[chosen]} over the less loaded sample {nodes[other]}");
            }
        }
    }

    [Test]
    public void SelectNode_PowerOfTwoChoicesDistinctLoads_RanksFollowTwoChoiceLaw()
    {
        // Five nodes with distinct loads: the k-th least loaded (k from 0) wins when it is sampled with a more loaded
        // node, probability 2(n-1-k)/(n(n-1)) = 8:6:4:2:0 out of 20. The most loaded is never chosen.
        var strategy = new PowerOfTwoChoicesAllocationStrategy(new Random(2_024));
        var nodes = Nodes(5, concurrency: 10);
        int[] active = [7, 1, 9, 3, 5]; // ranks by load: node1, node3, node4, node0, node2
        for (var i = 0; i < nodes.Length; i++)
        {
            nodes[i] = nodes[i] with { ActiveTasks = active[i] };
        }

        var counts = Count(strategy, nodes, Picks);
        long[] byRank = [counts[1], counts[3], counts[4], counts[0]];

        var chiSquare = ChiSquare(byRank, [8, 6, 4, 2]);

        TestContext.Out.WriteLine($"by rank {string.Join(", ", byRank)}, most loaded {counts[2]}; chi-square {chiSquare:F3} (df 3, critical {s_critical[3]})");
        Assert.Multiple(() =>
        {
            Assert.That(counts[2], Is.Zero, "the most loaded node was chosen");
            Assert.That(chiSquare, Is.LessThan(s_critical[3]));
        });
    }

    [Test]
    public void SelectNode_HeterogeneousClusterSimulation_PowerOfTwoChoicesBalancesBetterThanRandom()
    {
        var random = Simulate(new RandomAllocationStrategy(new Random(1)));
        var p2c = Simulate(new PowerOfTwoChoicesAllocationStrategy(new Random(1)));
        var leastLoaded = Simulate(new LeastLoadedAllocationStrategy());

        TestContext.Out.WriteLine($"Random:            {random}");
        TestContext.Out.WriteLine($"PowerOfTwoChoices: {p2c}");
        TestContext.Out.WriteLine($"LeastLoaded:       {leastLoaded}");

        // With 1-slot nodes at 70% utilisation some node is nearly always full whatever the strategy, so the maximum
        // load only just separates them; the spread of loads and the load a task joins show the balance clearly.
        Assert.Multiple(() =>
        {
            Assert.That(p2c.MeanMaxLoad, Is.LessThan(random.MeanMaxLoad), "mean of the maximum load over time");
            Assert.That(p2c.MeanSpread, Is.LessThan(random.MeanSpread), "mean of (max - min) load over time");
            Assert.That(leastLoaded.MeanSpread, Is.LessThan(p2c.MeanSpread), "mean of (max - min) load over time");
            Assert.That(p2c.MeanJoinedLoad, Is.LessThan(random.MeanJoinedLoad), "mean load of the chosen node after placement");
            Assert.That(leastLoaded.MeanJoinedLoad, Is.LessThan(p2c.MeanJoinedLoad), "mean load of the chosen node after placement");
        });
    }

    /// <summary>The balls-into-bins setting of Sparrow and Orleans: every node is a candidate and tasks queue behind busy
    /// slots, so a node's load (assigned tasks over slots) can exceed 1, and the worst node is what users feel.</summary>
    [Test]
    public void SelectNode_HeterogeneousNodesWithQueues_PowerOfTwoChoicesMaxLoadFarBelowRandomNearLeastLoaded()
    {
        var random = SimulateWithQueues(new RandomAllocationStrategy(new Random(7)));
        var twoChoices = SimulateWithQueues(new PowerOfTwoChoicesAllocationStrategy(new Random(7)));
        var leastLoaded = SimulateWithQueues(new LeastLoadedAllocationStrategy());

        TestContext.Out.WriteLine($"mean max load: random {random.MeanMax:F2}, two choices {twoChoices.MeanMax:F2}, least loaded {leastLoaded.MeanMax:F2}");
        TestContext.Out.WriteLine($"peak max load: random {random.PeakMax:F2}, two choices {twoChoices.PeakMax:F2}, least loaded {leastLoaded.PeakMax:F2}");
        Assert.Multiple(() =>
        {
            // Random ignores size, so the 1-slot nodes get 1/16 of the work for 1/72 of the capacity and their queues grow
            // without bound; two samples are enough to stay within a small factor of the best possible balance.
            Assert.That(twoChoices.MeanMax, Is.LessThan(random.MeanMax / 100), "markedly lower than random");
            Assert.That(twoChoices.MeanMax, Is.LessThan(leastLoaded.MeanMax * 3), "close to least loaded");
            Assert.That(leastLoaded.MeanMax, Is.LessThanOrEqualTo(twoChoices.MeanMax));
        });
    }

    [Test]
    public void SelectNode_ResourceFitBestFit_PicksTheNodeLeftWithLeastRoom()
    {
        var strategy = new ResourceFitAllocationStrategy(ResourceFitMode.BestFit);
        var nodes = ResourceNodes();
        var task = Tasks.Create(options: new TaskOptions { ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = 2 } });

        // Room after placing 2 cpu: a (4, 0 used) 0.5; b (8, 5 used) 0.125; c (16, 2 used) 0.75.
        Assert.That(nodes[strategy.SelectNode(task, nodes)].Name, Is.EqualTo("b"));
    }

    [Test]
    public void SelectNode_ResourceFitSpread_PicksTheNodeLeftWithMostRoom()
    {
        var strategy = new ResourceFitAllocationStrategy(ResourceFitMode.Spread);
        var nodes = ResourceNodes();
        var task = Tasks.Create(options: new TaskOptions { ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = 2 } });

        Assert.That(nodes[strategy.SelectNode(task, nodes)].Name, Is.EqualTo("c"));
    }

    [TestCase(ResourceFitMode.BestFit)]
    [TestCase(ResourceFitMode.Spread)]
    public void SelectNode_ResourceFitRandomNodes_MatchesBruteForceRoom(ResourceFitMode mode)
    {
        var strategy = new ResourceFitAllocationStrategy(mode);
        var random = new Random(77);

        for (var call = 0; call < 5_000; call++)
        {
            var demand = 1 + random.Next(4);
            var nodes = Enumerable.Range(0, 1 + random.Next(8)).Select(i =>
            {
                var capacity = demand + random.Next(16);
                return new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(4).WithResource("cpu", capacity))
                {
                    ResourcesInUse = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = random.Next(capacity - demand + 1) },
                };
            }).ToArray();
            var task = Tasks.Create(options: new TaskOptions { ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = demand } });

            var rooms = nodes.Select(n => (n.ResourceCapacity["cpu"] - n.ResourcesInUse.GetValueOrDefault("cpu") - demand) / n.ResourceCapacity["cpu"]).ToArray();
            var target = mode == ResourceFitMode.BestFit ? rooms.Min() : rooms.Max();
            var chosen = strategy.SelectNode(task, nodes);
            if (rooms[chosen] != target)
            {
                Assert.Fail($"call {call}: chose room {rooms[chosen]}, the {mode} room was {target}; rooms [{string.Join(", ", rooms)}]");
            }
        }
    }

    [TestCase(ResourceFitMode.BestFit, "b")]
    [TestCase(ResourceFitMode.Spread, "a")]
    public void SelectNode_ResourceFitNoDemand_JudgesByFreeSlots(ResourceFitMode mode, string expected)
    {
        var strategy = new ResourceFitAllocationStrategy(mode);
        var a = new NodeSnapshot("a", 0, new NodeOptions().WithConcurrency(4)) { ActiveTasks = 0 };
        var b = new NodeSnapshot("b", 1, new NodeOptions().WithConcurrency(4)) { ActiveTasks = 3 };
        var c = new NodeSnapshot("c", 2, new NodeOptions().WithConcurrency(8)) { ActiveTasks = 4 };

        Assert.That(new[] { a, b, c }[strategy.SelectNode(Tasks.Create(), [a, b, c])].Name, Is.EqualTo(expected));
    }

    private static NodeSnapshot[] ResourceNodes()
    {
        var a = new NodeSnapshot("a", 0, new NodeOptions().WithConcurrency(4).WithResource("cpu", 4));
        var b = new NodeSnapshot("b", 1, new NodeOptions().WithConcurrency(4).WithResource("cpu", 8))
        {
            ResourcesInUse = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = 5 },
        };
        var c = new NodeSnapshot("c", 2, new NodeOptions().WithConcurrency(4).WithResource("cpu", 16))
        {
            ResourcesInUse = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = 2 },
        };
        return [a, b, c];
    }

    private static NodeSnapshot[] Nodes(int count, int concurrency = 1) =>
        Enumerable.Range(0, count).Select(i => new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(concurrency))).ToArray();

    private static long[] Count(IAllocationStrategy strategy, NodeSnapshot[] nodes, int picks)
    {
        var counts = new long[nodes.Length];
        var task = Tasks.Create();
        for (var i = 0; i < picks; i++)
        {
            var chosen = strategy.SelectNode(task, nodes);
            if (chosen >= 0)
            {
                counts[chosen]++;
            }
        }

        return counts;
    }

    /// <summary>Pearson's statistic for observed counts against expected proportions.</summary>
    private static double ChiSquare(long[] observed, double[] proportions)
    {
        var total = observed.Sum();
        var weight = proportions.Sum();
        var statistic = 0.0;
        for (var i = 0; i < observed.Length; i++)
        {
            var expected = total * proportions[i] / weight;
            statistic += (observed[i] - expected) * (observed[i] - expected) / expected;
        }

        return statistic;
    }

    /// <summary>16 nodes with 1..8 slots (72 in all); a fixed stream of arrivals (one per step with probability 0.5)
    /// and durations (geometric, mean 100 steps), about 50 tasks in flight, 70% of capacity. Like the engine, only nodes
    /// with a free slot are offered; a task that finds none is rejected. The stream is the same for every strategy.</summary>
    /// <summary>16 nodes of 1–8 slots at 90 % of their total capacity; a task in service ends with probability 1/100 per
    /// step, queued ones wait. Fixed seed, so the same arrivals and departures for every strategy.</summary>
    private static (double MeanMax, double PeakMax) SimulateWithQueues(IAllocationStrategy strategy)
    {
        const int Steps = 100_000;
        const int Warmup = 5_000;
        var nodes = Enumerable.Range(0, 16).Select(i => new NodeSnapshot($"n{i}", i, new NodeOptions { MaxConcurrency = 1 + (i % 8) })).ToArray();
        var capacity = nodes.Sum(static n => n.MaxConcurrency);
        var arrivalProbability = 0.9 * capacity / 100.0;
        var random = new Random(2_024);
        var task = Tasks.Create();
        double sumOfMax = 0, peak = 0;
        for (var step = 0; step < Steps; step++)
        {
            for (var n = 0; n < nodes.Length; n++)
            {
                var inService = Math.Min(nodes[n].ActiveTasks, nodes[n].MaxConcurrency);
                for (var k = 0; k < inService; k++)
                {
                    if (random.Next(100) == 0)
                    {
                        nodes[n] = nodes[n] with { ActiveTasks = nodes[n].ActiveTasks - 1 };
                    }
                }
            }

            // Up to two arrivals per step keep the mean at 90 % of capacity.
            for (var arrivals = 0; arrivals < 2; arrivals++)
            {
                if (random.NextDouble() < arrivalProbability / 2)
                {
                    var chosen = strategy.SelectNode(task, nodes);
                    nodes[chosen] = nodes[chosen] with { ActiveTasks = nodes[chosen].ActiveTasks + 1 };
                }
            }

            if (step >= Warmup)
            {
                var max = nodes.Max(static n => n.Load);
                sumOfMax += max;
                peak = Math.Max(peak, max);
            }
        }

        return (sumOfMax / (Steps - Warmup), peak);
    }

    private static SimulationResult Simulate(IAllocationStrategy strategy)
    {
        const int Steps = 200_000;
        const int WarmUp = 2_000;
        var nodes = Enumerable.Range(0, 16).Select(i => new NodeSnapshot($"n{i}", i, new NodeOptions().WithConcurrency(1 + (i % 8)))).ToArray();
        var stream = new Random(2_025);
        var departures = new PriorityQueue<int, int>();
        var candidates = new NodeSnapshot[nodes.Length];
        var task = Tasks.Create();
        double sumMax = 0, sumSpread = 0, peak = 0;
        var rejected = 0;
        var fullTime = 0;
        double sumJoined = 0;
        var placed = 0;

        for (var step = 0; step < Steps; step++)
        {
            var arrives = stream.Next(2) == 0;
            var duration = 1 + (int)(-Math.Log(1 - stream.NextDouble()) * 100);

            while (departures.TryPeek(out var node, out var at) && at <= step)
            {
                departures.Dequeue();
                nodes[node] = nodes[node] with { ActiveTasks = nodes[node].ActiveTasks - 1 };
            }

            if (arrives)
            {
                var count = 0;
                foreach (var node in nodes)
                {
                    if (node.FreeSlots > 0)
                    {
                        candidates[count++] = node;
                    }
                }

                var chosen = count == 0 ? -1 : strategy.SelectNode(task, candidates.AsSpan(0, count));
                if (chosen < 0)
                {
                    rejected++;
                }
                else
                {
                    var target = candidates[chosen];
                    nodes[target.Index] = nodes[target.Index] with { ActiveTasks = nodes[target.Index].ActiveTasks + 1 };
                    departures.Enqueue(target.Index, step + duration);
                    if (step >= WarmUp)
                    {
                        sumJoined += target.Load;
                        placed++;
                    }
                }
            }

            if (step >= WarmUp)
            {
                var max = nodes.Max(n => n.Load);
                sumMax += max;
                sumSpread += max - nodes.Min(n => n.Load);
                peak = Math.Max(peak, max);
                if (max >= 1)
                {
                    fullTime++;
                }
            }
        }

        var measured = Steps - WarmUp;
        return new SimulationResult(sumMax / measured, sumSpread / measured, sumJoined / placed, (double)fullTime / measured, peak, rejected);
    }

    private sealed record SimulationResult(double MeanMaxLoad, double MeanSpread, double MeanJoinedLoad, double FullNodeShare, double PeakLoad, int Rejected)
    {
        public override string ToString() =>
            $"mean max load {MeanMaxLoad:F4}, mean (max - min) load {MeanSpread:F4}, mean load joined {MeanJoinedLoad:F4}, time with a full node {FullNodeShare:P1}, peak {PeakLoad:F2}, rejected {Rejected}";
    }

    /// <summary>A seeded generator that records what <see cref="Next(int)"/> returns.</summary>
    private sealed class RecordingRandom(int seed) : Random(seed)
    {
        public List<int> Draws { get; } = [];

        public override int Next(int maxValue)
        {
            var value = base.Next(maxValue);
            Draws.Add(value);
            return value;
        }
    }
}
