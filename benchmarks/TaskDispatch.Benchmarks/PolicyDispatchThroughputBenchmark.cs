using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// End to end, per scheduling policy: <see cref="TaskCount"/> no-op tasks with varied options submitted to and awaited
/// from a dispatcher with round-robin allocation over two nodes of one slot each; beside them, in the same run, the
/// loop a user writes by hand (a <see cref="Channel{T}"/> with two consumers completing a
/// <see cref="TaskCompletionSource{TResult}"/> per item).
/// </summary>
/// <remarks>
/// Every policy sees the same options (priority 0–3, 80 % short and 20 % long estimates, deadlines 10 ms–10 s ahead,
/// eight fairness keys, kinds "short"/"long"); each reads the ones it orders by. Submission outpaces the two slots, so
/// the ready queue really fills and the policy's order is exercised. Each benchmark has its own dispatcher, built by
/// its own global setup.
/// </remarks>
public class PolicyDispatchThroughputBenchmark : DispatcherComparisonBenchmark
{
    private static readonly string[] s_fairnessKeys = ["tenant-0", "tenant-1", "tenant-2", "tenant-3", "tenant-4", "tenant-5", "tenant-6", "tenant-7"];

    private TaskOptions[] _options = [];

    /// <inheritdoc />
    protected override int Consumers => 2;

    [GlobalSetup(Target = nameof(FirstComeFirstServed))]
    public void SetupFirstComeFirstServed() => Build(SchedulingPolicy.FirstComeFirstServed());

    [GlobalSetup(Target = nameof(ShortestJobFirst))]
    public void SetupShortestJobFirst() => Build(SchedulingPolicy.ShortestJobFirst());

    [GlobalSetup(Target = nameof(Priority))]
    public void SetupPriority() => Build(SchedulingPolicy.Priority());

    [GlobalSetup(Target = nameof(EarliestDeadlineFirst))]
    public void SetupEarliestDeadlineFirst() => Build(SchedulingPolicy.EarliestDeadlineFirst());

    [GlobalSetup(Target = nameof(WeightedFairShare))]
    public void SetupWeightedFairShare() => Build(SchedulingPolicy.WeightedFairShare());

    [Benchmark(Baseline = true, Description = "FCFS")]
    public Task<int> FirstComeFirstServed() => SubmitAndAwaitAllAsync(_options);

    [Benchmark(Description = "SJF (given estimates)")]
    public Task<int> ShortestJobFirst() => SubmitAndAwaitAllAsync(_options);

    [Benchmark(Description = "Priority")]
    public Task<int> Priority() => SubmitAndAwaitAllAsync(_options);

    [Benchmark(Description = "EDF")]
    public Task<int> EarliestDeadlineFirst() => SubmitAndAwaitAllAsync(_options);

    [Benchmark(Description = "WeightedFairShare, 8 keys")]
    public Task<int> WeightedFairShare() => SubmitAndAwaitAllAsync(_options);

    private void Build(ISchedulingPolicy policy)
    {
        Use(new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = TaskCount)
            .UseScheduling(policy)
            .AddNode("a", node => node.WithConcurrency(1))
            .AddNode("b", node => node.WithConcurrency(1))
            .Build());

        // Options are immutable and reusable: built once, so that every iteration submits the same tasks.
        var random = new Random(20261124);
        var now = DateTimeOffset.UtcNow;
        _options = new TaskOptions[TaskCount];
        for (var i = 0; i < TaskCount; i++)
        {
            var isShort = random.Next(100) < 80;
            _options[i] = new TaskOptions
            {
                Priority = random.Next(4),
                EstimatedDuration = isShort
                    ? TimeSpan.FromMilliseconds(1 + (random.NextDouble() * 9))
                    : TimeSpan.FromMilliseconds(100 + (random.NextDouble() * 900)),
                Kind = isShort ? "short" : "long",
                Deadline = now + TimeSpan.FromMilliseconds(10 + (random.NextDouble() * 9_990)),
                FairnessKey = s_fairnessKeys[random.Next(s_fairnessKeys.Length)],
            };
        }

    }

}
