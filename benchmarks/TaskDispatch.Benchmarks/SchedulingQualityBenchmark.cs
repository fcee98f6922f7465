using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TaskDispatch.Benchmarks;

/// <summary>The policies the scheduling-quality simulation compares.</summary>
public enum SimulatedPolicy
{
    /// <summary>First come, first served.</summary>
    Fcfs,

    /// <summary>Shortest job first, every task carrying its true duration as <see cref="TaskOptions.EstimatedDuration"/>.</summary>
    SjfGivenEstimates,

    /// <summary>Shortest job first without estimates, learning per kind ("short", "long") from completed attempts.</summary>
    SjfLearned,

    /// <summary>Shortest job first given each kind's true mean duration (5.5 ms or 550 ms) as every task's estimate: the
    /// best any estimate per kind can do, and so the bound for <see cref="SjfLearned"/>, which cannot tell the tasks of
    /// one kind apart either.</summary>
    SjfKindMeans,

    /// <summary>Strict priority, priorities 0–3 drawn independently of duration.</summary>
    Priority,

    /// <summary>Earliest deadline first, deadline = arrival + 10 × duration.</summary>
    Edf,
}

/// <summary>When the simulated tasks arrive.</summary>
public enum ArrivalPattern
{
    /// <summary>All at once at t = 0: a backlog to drain.</summary>
    AllAtZero,

    /// <summary>A Poisson stream at 90 % of the server's capacity.</summary>
    Poisson,
}

/// <summary>
/// Scheduling quality, not speed: a deterministic virtual-time simulation (no threads, no clock) of one server running
/// <see cref="SchedulingSimulation.TaskCount"/> tasks, 80 % short (1–10 ms) and 20 % long (100–1000 ms), through each
/// policy object. The columns <c>Mean wait</c>, <c>P99 wait</c>, <c>Mean wait (long)</c> and <c>Missed deadlines</c>
/// are the outcome; the measured time is the cost of running the whole simulation once.
/// </summary>
/// <remarks>
/// The simulation is deterministic (fixed seeds), so the columns compute it again in the host process when the
/// benchmark ran in a child process; the global setup prints the same numbers to the log.
/// </remarks>
[Config(typeof(SchedulingQualityConfig))]
[MemoryDiagnoser]
[MedianColumn]
public class SchedulingQualityBenchmark
{
    private SchedulingSimulation.Workload _workload = null!;
    private TaskHandle[] _tasks = [];
    private long[] _waits = [];

    [Params(SimulatedPolicy.Fcfs, SimulatedPolicy.SjfGivenEstimates, SimulatedPolicy.SjfLearned, SimulatedPolicy.SjfKindMeans, SimulatedPolicy.Priority, SimulatedPolicy.Edf)]
    public SimulatedPolicy Policy { get; set; }

    [Params(ArrivalPattern.AllAtZero, ArrivalPattern.Poisson)]
    public ArrivalPattern Arrivals { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var result = SchedulingSimulation.GetResult(Policy, Arrivals);
        Console.WriteLine($"// Simulated {Policy}, {Arrivals}: {result}");

        _workload = SchedulingSimulation.Workload.Create(Arrivals);
        _tasks = SchedulingSimulation.CreateTasks(_workload, Policy);
        _waits = new long[_workload.Count];
    }

    /// <summary>Runs the whole simulation once with a fresh policy.</summary>
    /// <returns>The mean wait in ticks, so that the work is not eliminated.</returns>
    [Benchmark(Description = "Simulate 10,000 tasks")]
    public long Simulate()
    {
        SchedulingSimulation.Run(Policy, _workload, _tasks, _waits);
        var total = 0L;
        foreach (var wait in _waits)
        {
            total += wait;
        }

        return total / _waits.Length;
    }
}

/// <summary>Adds the simulation's outcome as columns.</summary>
public sealed class SchedulingQualityConfig : ManualConfig
{
    public SchedulingQualityConfig()
    {
        AddColumn(
            new SimulationColumn("Mean wait", "Mean time from arrival to start, all tasks", static result => FormatMilliseconds(result.MeanWait)),
            new SimulationColumn("P99 wait", "99th percentile of the time from arrival to start", static result => FormatMilliseconds(result.P99Wait)),
            new SimulationColumn("Mean wait (long)", "Mean time from arrival to start, long tasks (100-1000 ms) only", static result => FormatMilliseconds(result.MeanWaitOfLong)),
            new SimulationColumn("Missed deadlines", "Tasks that started after arrival + 10 x their duration", static result => result.MissedDeadlineRate.ToString("P1", CultureInfo.InvariantCulture)));
    }

    private static string FormatMilliseconds(TimeSpan value) =>
        value.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture) + " ms";
}

/// <summary>A summary column that reads the simulation outcome of a case's <see cref="SimulatedPolicy"/> and <see cref="ArrivalPattern"/>.</summary>
public sealed class SimulationColumn : IColumn
{
    private readonly Func<SchedulingSimulation.Result, string> _format;

    internal SimulationColumn(string name, string legend, Func<SchedulingSimulation.Result, string> format)
    {
        ColumnName = name;
        Legend = legend;
        _format = format;
    }

    public string Id => nameof(SimulationColumn) + "." + ColumnName;

    public string ColumnName { get; }

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend { get; }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        return benchmarkCase.Parameters[nameof(SchedulingQualityBenchmark.Policy)] is SimulatedPolicy policy
            && benchmarkCase.Parameters[nameof(SchedulingQualityBenchmark.Arrivals)] is ArrivalPattern arrivals
            ? _format(SchedulingSimulation.GetResult(policy, arrivals))
            : "-";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public override string ToString() => ColumnName;
}

/// <summary>The virtual-time simulation behind <see cref="SchedulingQualityBenchmark"/>.</summary>
public static class SchedulingSimulation
{
    /// <summary>Tasks per simulation.</summary>
    public const int TaskCount = 10_000;

    /// <summary>The server's target utilisation under <see cref="ArrivalPattern.Poisson"/>.</summary>
    private const double Load = 0.9;

    /// <summary>Expected duration: 0.8 × 5.5 ms + 0.2 × 550 ms.</summary>
    private const double MeanDurationMilliseconds = (0.8 * 5.5) + (0.2 * 550);

    private static readonly ConcurrentDictionary<(SimulatedPolicy, ArrivalPattern), Result> s_results = new();

    /// <summary>The outcome of one policy on one workload, computed once per process (it is deterministic).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="arrivals">The arrival pattern.</param>
    /// <returns>The waits.</returns>
    public static Result GetResult(SimulatedPolicy policy, ArrivalPattern arrivals) =>
        s_results.GetOrAdd((policy, arrivals), static key =>
        {
            var workload = Workload.Create(key.Item2);
            var waits = new long[workload.Count];
            Run(key.Item1, workload, CreateTasks(workload, key.Item1), waits);
            return Result.Summarize(workload, waits);
        });

    /// <summary>Creates the tasks of a workload with the options the policy orders by; the sequence number is the index.</summary>
    internal static TaskHandle[] CreateTasks(Workload workload, SimulatedPolicy policy)
    {
        var tasks = new TaskHandle[workload.Count];
        for (var i = 0; i < tasks.Length; i++)
        {
            var arrival = DateTimeOffset.UnixEpoch.AddTicks(workload.ArrivalTicks[i]);
            var duration = TimeSpan.FromTicks(workload.DurationTicks[i]);
            var options = new TaskOptions
            {
                Kind = workload.IsLong[i] ? "long" : "short",
                EstimatedDuration = policy switch
                {
                    SimulatedPolicy.SjfLearned => null,
                    SimulatedPolicy.SjfKindMeans => TimeSpan.FromMilliseconds(workload.IsLong[i] ? 550 : 5.5),
                    _ => duration,
                },
                Priority = workload.Priority[i],
                Deadline = arrival + (10 * duration),
            };
            tasks[i] = DetachedTasks.Create(options, i, arrival);
        }

        return tasks;
    }

    /// <summary>Runs the workload on one non-preemptive server: whenever the server is free, the policy picks the next
    /// task among those that have arrived; a task's wait is its start minus its arrival.</summary>
    internal static void Run(SimulatedPolicy policyKind, Workload workload, TaskHandle[] tasks, long[] waits)
    {
        var policy = CreatePolicy(policyKind);
        var learner = policy as ILearningSchedulingPolicy;
        var arrivals = workload.ArrivalTicks;
        var now = 0L;
        var next = 0;
        for (var done = 0; done < tasks.Length;)
        {
            while (next < tasks.Length && arrivals[next] <= now)
            {
                policy.Enqueue(tasks[next++]);
            }

            if (!policy.TryDequeue(out var task))
            {
                now = arrivals[next];
                continue;
            }

            var index = (int)task.SequenceNumber;
            var duration = workload.DurationTicks[index];
            waits[index] = now - arrivals[index];
            var end = now + duration;

            // Tasks that arrive while this one runs are queued before it completes, so they do not benefit from what
            // its completion teaches a learning policy.
            while (next < tasks.Length && arrivals[next] < end)
            {
                policy.Enqueue(tasks[next++]);
            }

            now = end;
            learner?.OnAttemptSucceeded(task, TimeSpan.FromTicks(duration));
            done++;
        }
    }

    private static ISchedulingPolicy CreatePolicy(SimulatedPolicy policy) => policy switch
    {
        SimulatedPolicy.Fcfs => SchedulingPolicy.FirstComeFirstServed(),
        SimulatedPolicy.SjfGivenEstimates => SchedulingPolicy.ShortestJobFirst(),
        SimulatedPolicy.SjfLearned => SchedulingPolicy.ShortestJobFirst(),
        SimulatedPolicy.SjfKindMeans => SchedulingPolicy.ShortestJobFirst(),
        SimulatedPolicy.Priority => SchedulingPolicy.Priority(),
        SimulatedPolicy.Edf => SchedulingPolicy.EarliestDeadlineFirst(),
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, null),
    };

    /// <summary>The tasks of one simulation, in arrival order.</summary>
    public sealed class Workload
    {
        private Workload(int count)
        {
            Count = count;
            ArrivalTicks = new long[count];
            DurationTicks = new long[count];
            IsLong = new bool[count];
            Priority = new int[count];
        }

        public int Count { get; }

        internal long[] ArrivalTicks { get; }

        internal long[] DurationTicks { get; }

        internal bool[] IsLong { get; }

        internal int[] Priority { get; }

        /// <summary>Creates the workload; durations and priorities are the same for both arrival patterns.</summary>
        internal static Workload Create(ArrivalPattern arrivals)
        {
            var workload = new Workload(TaskCount);
            var random = new Random(42);
            for (var i = 0; i < workload.Count; i++)
            {
                var isLong = random.Next(100) < 20;
                var milliseconds = isLong ? 100 + (random.NextDouble() * 900) : 1 + (random.NextDouble() * 9);
                workload.IsLong[i] = isLong;
                workload.DurationTicks[i] = (long)(milliseconds * TimeSpan.TicksPerMillisecond);
                workload.Priority[i] = random.Next(4);
            }

            if (arrivals == ArrivalPattern.Poisson)
            {
                var arrivalRandom = new Random(7);
                var meanGapTicks = MeanDurationMilliseconds / Load * TimeSpan.TicksPerMillisecond;
                var now = 0.0;
                for (var i = 0; i < workload.Count; i++)
                {
                    workload.ArrivalTicks[i] = (long)now;
                    now += -Math.Log(1 - arrivalRandom.NextDouble()) * meanGapTicks;
                }
            }

            return workload;
        }
    }

    /// <summary>Waiting times of one simulation.</summary>
    public sealed record Result(TimeSpan MeanWait, TimeSpan P99Wait, TimeSpan MeanWaitOfLong, double MissedDeadlineRate)
    {
        internal static Result Summarize(Workload workload, long[] waits)
        {
            var total = 0.0;
            var totalLong = 0.0;
            var longCount = 0;
            var missed = 0;
            for (var i = 0; i < waits.Length; i++)
            {
                total += waits[i];
                if (workload.IsLong[i])
                {
                    totalLong += waits[i];
                    longCount++;
                }

                if (waits[i] > 10 * workload.DurationTicks[i])
                {
                    missed++;
                }
            }

            var sorted = (long[])waits.Clone();
            Array.Sort(sorted);
            var p99 = sorted[(int)Math.Ceiling(0.99 * sorted.Length) - 1];
            return new Result(
                TimeSpan.FromTicks((long)(total / waits.Length)),
                TimeSpan.FromTicks(p99),
                TimeSpan.FromTicks((long)(totalLong / Math.Max(1, longCount))),
                (double)missed / waits.Length);
        }

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"mean wait {MeanWait.TotalMilliseconds:N0} ms, p99 wait {P99Wait.TotalMilliseconds:N0} ms, mean wait of long tasks {MeanWaitOfLong.TotalMilliseconds:N0} ms, missed deadlines {MissedDeadlineRate:P1}");
    }
}
