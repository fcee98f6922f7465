using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using TaskDispatch.Simulation;

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

    /// <summary>Priority with aging: a task's priority rises by one per second it waits.</summary>
    PriorityAging,

    /// <summary>Earliest deadline first, deadline = arrival + 10 × duration.</summary>
    Edf,

    /// <summary>Weighted fair share over three tenants (every third task) with weights 1, 2 and 3.</summary>
    FairShare,
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
/// Scheduling quality and the simulator's speed: <see cref="PolicySimulator"/> (TaskDispatch.Simulation) runs
/// <see cref="SchedulingSimulation.TaskCount"/> tasks, 80 % short (1–10 ms) and 20 % long (100–1000 ms), on one server
/// through each built-in policy object, in virtual time. The columns <c>Mean wait</c>, <c>P99 wait</c>,
/// <c>Mean wait (long)</c> and <c>Missed deadlines</c> are the outcome; the measured time is per simulated task, and
/// <c>Op/s</c> is simulated tasks per second.
/// </summary>
/// <remarks>
/// The workload is drawn once from fixed seeds and replayed as a <see cref="TaskTrace"/>, so every policy sees the same
/// tasks. The simulation is deterministic, so the columns compute it again in the host process when the benchmark ran in
/// a child process; the global setup prints the same numbers to the log.
/// </remarks>
[Config(typeof(SchedulingQualityConfig))]
[MemoryDiagnoser]
[MedianColumn]
public class SchedulingQualityBenchmark
{
    private static readonly SimulatedNode[] s_server = [new("server")];
    private SimulatedWorkload _workload = null!;

    [Params(SimulatedPolicy.Fcfs, SimulatedPolicy.SjfGivenEstimates, SimulatedPolicy.SjfLearned, SimulatedPolicy.SjfKindMeans, SimulatedPolicy.Priority, SimulatedPolicy.PriorityAging, SimulatedPolicy.Edf, SimulatedPolicy.FairShare)]
    public SimulatedPolicy Policy { get; set; }

    [Params(ArrivalPattern.AllAtZero, ArrivalPattern.Poisson)]
    public ArrivalPattern Arrivals { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var result = SchedulingSimulation.GetResult(Policy, Arrivals);
        Console.WriteLine($"// Simulated {Policy}, {Arrivals}: {result}");
        _workload = SchedulingSimulation.CreateWorkload(Policy, Arrivals);
    }

    /// <summary>Runs the whole simulation once with a fresh policy; reported per simulated task.</summary>
    /// <returns>The mean wait, so that the work is not eliminated.</returns>
    [Benchmark(Description = "Simulate, per task", OperationsPerInvoke = SchedulingSimulation.TaskCount)]
    public TimeSpan Simulate() => PolicySimulator.Run(_workload, s_server, SchedulingSimulation.CreatePolicy(Policy)).Waiting.Mean;
}

/// <summary>Adds the simulation's outcome as columns, and simulated tasks per second.</summary>
public sealed class SchedulingQualityConfig : ManualConfig
{
    public SchedulingQualityConfig()
    {
        AddColumn(
            StatisticColumn.OperationsPerSecond,
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

/// <summary>The workload behind <see cref="SchedulingQualityBenchmark"/>, and its outcome per policy.</summary>
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
            var waits = new long[TaskCount];
            var durations = new long[TaskCount];
            var isLong = new bool[TaskCount];
            PolicySimulator.Run(CreateWorkload(key.Item1, key.Item2), [new SimulatedNode("server")], CreatePolicy(key.Item1), onTaskEnded: outcome =>
            {
                waits[outcome.Index] = outcome.Wait.Ticks;
                durations[outcome.Index] = outcome.Processing.Ticks;
                isLong[outcome.Index] = outcome.Options.Kind == "long";
            });
            return Result.Summarize(waits, durations, isLong);
        });

    /// <summary>Creates the policy a case runs, fresh.</summary>
    internal static ISchedulingPolicy CreatePolicy(SimulatedPolicy policy) => policy switch
    {
        SimulatedPolicy.Fcfs => SchedulingPolicy.FirstComeFirstServed(),
        SimulatedPolicy.SjfGivenEstimates or SimulatedPolicy.SjfLearned or SimulatedPolicy.SjfKindMeans => SchedulingPolicy.ShortestJobFirst(),
        SimulatedPolicy.Priority => SchedulingPolicy.Priority(),
        SimulatedPolicy.PriorityAging => SchedulingPolicy.Priority(options => options.AgingInterval = TimeSpan.FromSeconds(1)),
        SimulatedPolicy.Edf => SchedulingPolicy.EarliestDeadlineFirst(),
        SimulatedPolicy.FairShare => SchedulingPolicy.WeightedFairShare(options => (options.Weights["tenant-1"], options.Weights["tenant-2"]) = (2, 3)),
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, null),
    };

    /// <summary>Draws the tasks (durations and priorities the same for both arrival patterns) with the options the policy
    /// orders by, as a trace the simulator replays.</summary>
    internal static SimulatedWorkload CreateWorkload(SimulatedPolicy policy, ArrivalPattern arrivals)
    {
        var random = new Random(42);
        var arrivalRandom = new Random(7);
        var meanGapTicks = MeanDurationMilliseconds / Load * TimeSpan.TicksPerMillisecond;
        var now = 0.0;
        var records = new TraceRecord[TaskCount];
        for (var i = 0; i < TaskCount; i++)
        {
            var isLong = random.Next(100) < 20;
            var milliseconds = isLong ? 100 + (random.NextDouble() * 900) : 1 + (random.NextDouble() * 9);
            var duration = TimeSpan.FromTicks((long)(milliseconds * TimeSpan.TicksPerMillisecond));
            records[i] = new TraceRecord
            {
                Arrival = TimeSpan.FromTicks((long)now),
                Duration = duration,
                Kind = isLong ? "long" : "short",
                Priority = random.Next(4),
                Deadline = 10 * duration,
                FairnessKey = $"tenant-{i % 3}",
                EstimatedDuration = policy switch
                {
                    SimulatedPolicy.SjfLearned => null,
                    SimulatedPolicy.SjfKindMeans => TimeSpan.FromMilliseconds(isLong ? 550 : 5.5),
                    _ => duration,
                },
            };

            if (arrivals == ArrivalPattern.Poisson)
            {
                now += -Math.Log(1 - arrivalRandom.NextDouble()) * meanGapTicks;
            }
        }

        return new TaskTrace(records).ToWorkload();
    }

    /// <summary>Waiting times of one simulation.</summary>
    public sealed record Result(TimeSpan MeanWait, TimeSpan P99Wait, TimeSpan MeanWaitOfLong, double MissedDeadlineRate)
    {
        internal static Result Summarize(long[] waits, long[] durations, bool[] isLong)
        {
            var total = 0.0;
            var totalLong = 0.0;
            var longCount = 0;
            var missed = 0;
            for (var i = 0; i < waits.Length; i++)
            {
                total += waits[i];
                if (isLong[i])
                {
                    totalLong += waits[i];
                    longCount++;
                }

                if (waits[i] > 10 * durations[i])
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
