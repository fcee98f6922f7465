using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// The cost of one enqueue plus one dequeue, per task, for each built-in scheduling policy at a steady queue depth.
/// </summary>
/// <remarks>
/// The global setup fills the policy with <see cref="Depth"/> detached tasks with varied options (priority 0–3, 80 %
/// short and 20 % long estimates, deadlines 10 ms–10 s after arrival, eight fairness keys) and keeps a small ring of
/// spare tasks outside it. Each operation dequeues the next task, puts it at the back of the spare ring and enqueues
/// the spare from the front of the ring with a fresh <see cref="TaskHandle.ReadyAt"/> (one virtual millisecond per
/// operation), so the depth never changes and no task is created while measuring.
/// <para>
/// Read the 1,000,000 rows with care. Task keys are fixed at creation, so under SJF, priority, EDF and the fair-share
/// policies only the <see cref="SpareCount"/> + 1 tasks with the smallest keys ever circulate: each enqueue sifts up
/// O(log n) levels to near the root and each dequeue sifts down O(log n) levels, but along paths that stay in cache.
/// FCFS and priority with aging (whose key moves with the fresh ready time) circulate every task, so their rows also
/// pay the cache misses of touching a million cold tasks.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
public class SchedulingPolicyBenchmark
{
    /// <summary>Enqueue + dequeue pairs per benchmark invocation.</summary>
    private const int Operations = 1_000;

    /// <summary>Tasks outside the queue, waiting to be enqueued again; a power of two.</summary>
    private const int SpareCount = 64;

    private static readonly string[] s_fairnessKeys = ["tenant-0", "tenant-1", "tenant-2", "tenant-3", "tenant-4", "tenant-5", "tenant-6", "tenant-7"];

    private ISchedulingPolicy _policy = null!;
    private ILearningSchedulingPolicy? _learner;
    private TaskHandle[] _spares = [];
    private int _nextSpare;
    private long _clockMilliseconds;

    /// <summary>Tasks in the queue throughout the measurement.</summary>
    [Params(1_000, 1_000_000)]
    public int Depth { get; set; }

    [GlobalSetup(Target = nameof(FirstComeFirstServed))]
    public void SetupFirstComeFirstServed() => Fill(SchedulingPolicy.FirstComeFirstServed());

    [GlobalSetup(Target = nameof(ShortestJobFirst))]
    public void SetupShortestJobFirst() => Fill(SchedulingPolicy.ShortestJobFirst());

    [GlobalSetup(Target = nameof(ShortestJobFirstLearned))]
    public void SetupShortestJobFirstLearned() => Fill(SchedulingPolicy.ShortestJobFirst(), learned: true);

    [GlobalSetup(Target = nameof(Priority))]
    public void SetupPriority() => Fill(SchedulingPolicy.Priority());

    [GlobalSetup(Target = nameof(PriorityWithAging))]
    public void SetupPriorityWithAging() => Fill(SchedulingPolicy.Priority(options => options.AgingInterval = TimeSpan.FromSeconds(1)));

    [GlobalSetup(Target = nameof(EarliestDeadlineFirst))]
    public void SetupEarliestDeadlineFirst() => Fill(SchedulingPolicy.EarliestDeadlineFirst());

    [GlobalSetup(Target = nameof(WeightedFairShare))]
    public void SetupWeightedFairShare() => Fill(SchedulingPolicy.WeightedFairShare(options =>
    {
        // Unequal weights, so that the stride arithmetic is exercised; keys 4–7 keep the default weight of 1.
        options.Weights["tenant-0"] = 4;
        options.Weights["tenant-1"] = 2;
        options.Weights["tenant-2"] = 2;
        options.Weights["tenant-3"] = 0.5;
    }));

    [GlobalSetup(Target = nameof(PriorityBandsOfWeightedFairShare))]
    public void SetupPriorityBandsOfWeightedFairShare() =>
        Fill(SchedulingPolicy.PriorityBands(static () => SchedulingPolicy.WeightedFairShare()));

    [GlobalCleanup]
    public void Cleanup()
    {
        // In-process runs keep the instance alive across cases; drop the million tasks before the next case's setup.
        _policy = null!;
        _learner = null;
        _spares = [];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "FCFS")]
    public long FirstComeFirstServed() => Cycle();

    [Benchmark(OperationsPerInvoke = Operations, Description = "SJF (given estimates)")]
    public long ShortestJobFirst() => Cycle();

    /// <summary>SJF without estimates: tasks wait per kind and every dequeued task teaches its kind's estimate, so the
    /// kinds are re-keyed on every operation (the cost of learning on a backlog).</summary>
    [Benchmark(OperationsPerInvoke = Operations, Description = "SJF (learned, 2 kinds)")]
    public long ShortestJobFirstLearned() => Cycle();

    [Benchmark(OperationsPerInvoke = Operations, Description = "Priority")]
    public long Priority() => Cycle();

    [Benchmark(OperationsPerInvoke = Operations, Description = "Priority, aging 1 s")]
    public long PriorityWithAging() => Cycle();

    [Benchmark(OperationsPerInvoke = Operations, Description = "EDF")]
    public long EarliestDeadlineFirst() => Cycle();

    [Benchmark(OperationsPerInvoke = Operations, Description = "WeightedFairShare, 8 keys")]
    public long WeightedFairShare() => Cycle();

    [Benchmark(OperationsPerInvoke = Operations, Description = "PriorityBands(WeightedFairShare)")]
    public long PriorityBandsOfWeightedFairShare() => Cycle();

    private static TaskOptions CreateOptions(Random random, DateTimeOffset arrival, bool learned)
    {
        var isShort = random.Next(100) < 80;
        var estimate = isShort
            ? TimeSpan.FromMilliseconds(1 + (random.NextDouble() * 9))
            : TimeSpan.FromMilliseconds(100 + (random.NextDouble() * 900));
        return new TaskOptions
        {
            Priority = random.Next(4),
            EstimatedDuration = learned ? null : estimate,
            Kind = isShort ? "short" : "long",
            Deadline = arrival + TimeSpan.FromMilliseconds(10 + (random.NextDouble() * 9_990)),
            FairnessKey = s_fairnessKeys[random.Next(s_fairnessKeys.Length)],
        };
    }

    private void Fill(ISchedulingPolicy policy, bool learned = false)
    {
        // A fixed seed: every policy and every run sees the same tasks in the same order.
        var random = new Random(20261124);
        for (var i = 0; i < Depth; i++)
        {
            var arrival = DateTimeOffset.UnixEpoch.AddMilliseconds(i);
            policy.Enqueue(DetachedTasks.Create(CreateOptions(random, arrival, learned), i, arrival));
        }

        _spares = new TaskHandle[SpareCount];
        for (var i = 0; i < SpareCount; i++)
        {
            var arrival = DateTimeOffset.UnixEpoch.AddMilliseconds(Depth + i);
            _spares[i] = DetachedTasks.Create(CreateOptions(random, arrival, learned), Depth + i, arrival);
        }

        _nextSpare = 0;
        _clockMilliseconds = Depth + SpareCount;
        _policy = policy;
        _learner = learned ? policy as ILearningSchedulingPolicy : null;
    }

    private long Cycle()
    {
        var policy = _policy;
        var spares = _spares;
        var next = _nextSpare;
        var clock = _clockMilliseconds;
        var checksum = 0L;
        for (var i = 0; i < Operations; i++)
        {
            if (!policy.TryDequeue(out var task))
            {
                throw new InvalidOperationException("The policy ran dry; the depth should never change.");
            }

            // A learning policy hears each task end: its kind's estimate moves, and the kind is re-keyed.
            _learner?.OnAttemptSucceeded(task, TimeSpan.FromMilliseconds(task.Kind == "short" ? 5 + (i & 3) : 500 + (i & 255)));

            var spare = spares[next];
            spares[next] = task;
            next = (next + 1) & (SpareCount - 1);
            spare.ReadyAt = DateTimeOffset.UnixEpoch.AddTicks(++clock * TimeSpan.TicksPerMillisecond);
            policy.Enqueue(spare);
            checksum += task.SequenceNumber;
        }

        _nextSpare = next;
        _clockMilliseconds = clock;
        return checksum;
    }
}
