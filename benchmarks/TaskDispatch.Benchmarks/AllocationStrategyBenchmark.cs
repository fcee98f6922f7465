using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// The cost of one allocation decision (<see cref="IAllocationStrategy.SelectNode"/>) for each built-in strategy, with
/// <see cref="NodeCount"/> candidate nodes.
/// </summary>
/// <remarks>
/// The global setup builds <see cref="NodeCount"/> node snapshots with varied slots (1, 2, 4 or 8), weights (0.5–4),
/// loads (<see cref="NodeSnapshot.ActiveTasks"/> from 0 to slots − 1, so every node has a free slot, as the dispatcher
/// guarantees for candidates) and cpu capacity (2–16, of which up to half in use, so a 0.5 cpu demand fits everywhere).
/// The task is one pre-built detached handle demanding 0.5 cpu; strategies other than resource fit ignore the demand.
/// Strategies never change the snapshots, so every decision sees the same candidates. Each invocation makes
/// <see cref="Decisions"/> decisions through the interface, as the dispatcher does; the columns are per decision.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
public class AllocationStrategyBenchmark
{
    /// <summary>Decisions per benchmark invocation.</summary>
    private const int Decisions = 1_000;

    private NodeSnapshot[] _nodes = [];
    private TaskHandle _task = null!;
    private IAllocationStrategy _roundRobin = null!;
    private IAllocationStrategy _random = null!;
    private IAllocationStrategy _weightedRandom = null!;
    private IAllocationStrategy _leastLoaded = null!;
    private IAllocationStrategy _powerOfTwoChoices = null!;
    private IAllocationStrategy _resourceFitBestFit = null!;
    private IAllocationStrategy _resourceFitSpread = null!;

    /// <summary>Candidate nodes offered to every decision.</summary>
    [Params(2, 16, 256)]
    public int NodeCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // A fixed seed: every strategy and every run sees the same nodes.
        var random = new Random(20261124);
        int[] slots = [1, 2, 4, 8];
        _nodes = new NodeSnapshot[NodeCount];
        for (var i = 0; i < NodeCount; i++)
        {
            var options = new NodeOptions
            {
                MaxConcurrency = slots[random.Next(slots.Length)],
                Weight = 0.5 + (random.Next(8) * 0.5),
            };
            var cpu = 2.0 * (1 + random.Next(8));
            options.Resources["cpu"] = cpu;
            _nodes[i] = new NodeSnapshot($"node-{i}", i, options)
            {
                ActiveTasks = random.Next(options.MaxConcurrency),
                ResourcesInUse = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = Math.Round(random.NextDouble() * cpu / 2, 1) },
            };
        }

        var demand = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = 0.5 };
        _task = DetachedTasks.Create(new TaskOptions { ResourceDemand = demand }, 0, DateTimeOffset.UnixEpoch);

        _roundRobin = AllocationStrategy.RoundRobin();
        _random = AllocationStrategy.Random(new Random(42));
        _weightedRandom = AllocationStrategy.WeightedRandom(new Random(42));
        _leastLoaded = AllocationStrategy.LeastLoaded();
        _powerOfTwoChoices = AllocationStrategy.PowerOfTwoChoices(new Random(42));
        _resourceFitBestFit = AllocationStrategy.ResourceFit(ResourceFitMode.BestFit);
        _resourceFitSpread = AllocationStrategy.ResourceFit(ResourceFitMode.Spread);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Decisions, Description = "RoundRobin")]
    public long RoundRobin() => Decide(_roundRobin);

    [Benchmark(OperationsPerInvoke = Decisions, Description = "Random")]
    public long UniformRandom() => Decide(_random);

    [Benchmark(OperationsPerInvoke = Decisions, Description = "WeightedRandom")]
    public long WeightedRandom() => Decide(_weightedRandom);

    [Benchmark(OperationsPerInvoke = Decisions, Description = "LeastLoaded")]
    public long LeastLoaded() => Decide(_leastLoaded);

    [Benchmark(OperationsPerInvoke = Decisions, Description = "PowerOfTwoChoices")]
    public long PowerOfTwoChoices() => Decide(_powerOfTwoChoices);

    [Benchmark(OperationsPerInvoke = Decisions, Description = "ResourceFit (BestFit, 1 resource)")]
    public long ResourceFitBestFit() => Decide(_resourceFitBestFit);

    [Benchmark(OperationsPerInvoke = Decisions, Description = "ResourceFit (Spread, 1 resource)")]
    public long ResourceFitSpread() => Decide(_resourceFitSpread);

    private long Decide(IAllocationStrategy strategy)
    {
        ReadOnlySpan<NodeSnapshot> candidates = _nodes;
        var task = _task;
        var checksum = 0L;
        for (var i = 0; i < Decisions; i++)
        {
            checksum += strategy.SelectNode(task, candidates);
        }

        return checksum;
    }
}
