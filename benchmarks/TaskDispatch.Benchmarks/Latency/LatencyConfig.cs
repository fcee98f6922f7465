using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TaskDispatch.Benchmarks;

/// <summary>Adds the latency percentiles as columns.</summary>
public sealed class LatencyConfig : ManualConfig
{
    public LatencyConfig()
    {
        AddColumn(
            new LatencyColumn("Start p50", static s => s.ToStart[0]),
            new LatencyColumn("Start p99", static s => s.ToStart[1]),
            new LatencyColumn("Start max", static s => s.ToStart[2]),
            new LatencyColumn("Done p50", static s => s.ToDone[0]),
            new LatencyColumn("Done p99", static s => s.ToDone[1]),
            new LatencyColumn("Done max", static s => s.ToDone[2]));
    }

    /// <summary>A column reading what <see cref="LatencyBenchmark"/> saved for a case's system, in microseconds.</summary>
    private sealed class LatencyColumn(string name, Func<LatencySamples.Summary, double> value) : IColumn
    {
        public string Id => nameof(LatencyColumn) + "." + ColumnName;

        public string ColumnName { get; } = name + " (µs)";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => $"{name} latency in microseconds, from the task's scheduled arrival, over every run";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            benchmarkCase.Parameters[nameof(LatencyBenchmark.System)] is LatencySystem system && LatencySamples.Load(system) is { } samples
                ? value(samples).ToString("N1", CultureInfo.InvariantCulture)
                : "-";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;

        public override string ToString() => ColumnName;
    }
}
