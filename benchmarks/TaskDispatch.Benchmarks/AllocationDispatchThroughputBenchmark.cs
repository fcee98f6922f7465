using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// End to end, per allocation strategy: <see cref="TaskCount"/> no-op tasks submitted to and awaited from a dispatcher
/// (FCFS) with four nodes of different sizes and weights (1, 1, 2 and 2 slots; weights 1, 2, 3 and 4); beside them, in
/// the same run, the loop a user writes by hand: a <see cref="Channel{T}"/> with as many consumers as the dispatcher
/// has slots (six), completing a <see cref="TaskCompletionSource{TResult}"/> per item.
/// </summary>
/// <remarks>
/// Each benchmark has its own dispatcher, built by its own global setup; the random strategies get a seeded
/// <c>new Random(42)</c>. Tasks carry default options, so every node with a free slot is a candidate.
/// </remarks>
public class AllocationDispatchThroughputBenchmark : DispatcherComparisonBenchmark
{
    /// <summary>Gets the dispatcher's total slots (1 + 1 + 2 + 2), and so the channel loop's consumers.</summary>
    protected override int Consumers => 6;

    [GlobalSetup(Target = nameof(RoundRobin))]
    public void SetupRoundRobin() => Build(AllocationStrategy.RoundRobin());

    [GlobalSetup(Target = nameof(UniformRandom))]
    public void SetupUniformRandom() => Build(AllocationStrategy.Random(new Random(42)));

    [GlobalSetup(Target = nameof(WeightedRandom))]
    public void SetupWeightedRandom() => Build(AllocationStrategy.WeightedRandom(new Random(42)));

    [GlobalSetup(Target = nameof(LeastLoaded))]
    public void SetupLeastLoaded() => Build(AllocationStrategy.LeastLoaded());

    [GlobalSetup(Target = nameof(PowerOfTwoChoices))]
    public void SetupPowerOfTwoChoices() => Build(AllocationStrategy.PowerOfTwoChoices(new Random(42)));

    [Benchmark(Baseline = true, Description = "RoundRobin")]
    public Task<int> RoundRobin() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "Random")]
    public Task<int> UniformRandom() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "WeightedRandom")]
    public Task<int> WeightedRandom() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "LeastLoaded")]
    public Task<int> LeastLoaded() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "PowerOfTwoChoices")]
    public Task<int> PowerOfTwoChoices() => SubmitAndAwaitAllAsync();

    private void Build(IAllocationStrategy strategy)
    {
        Use(new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = TaskCount)
            .UseScheduling(SchedulingPolicy.FirstComeFirstServed())
            .UseAllocation(strategy)
            .AddNode("small-1", node => node.WithConcurrency(1).WithWeight(1))
            .AddNode("small-2", node => node.WithConcurrency(1).WithWeight(2))
            .AddNode("large-1", node => node.WithConcurrency(2).WithWeight(3))
            .AddNode("large-2", node => node.WithConcurrency(2).WithWeight(4))
            .Build());
    }

}
