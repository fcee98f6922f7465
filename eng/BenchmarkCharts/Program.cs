using BenchmarkCharts;
using ScottPlot;

// Usage: BenchmarkCharts <BenchmarkDotNet results folder> <output folder for PNGs>
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: BenchmarkCharts <results-directory> <output-directory>");
    return 2;
}

var results = args[0];
var output = Directory.CreateDirectory(args[1]).FullName;
var drawn = 0;

if (BenchmarkReport.Load(results, "ThroughputBenchmark") is { } throughput)
{
    // Tasks per second (millions) per system, grouped by work and slots.
    var groups = throughput.Rows.Select(r => $"{throughput.Text(r, "Work")}, {throughput.Text(r, "Slots")} slots").Distinct().ToArray();
    var systems = throughput.Rows.Select(r => throughput.Text(r, "Method")).Distinct().ToArray();
    GroupedBars(
        Path.Combine(output, "throughput.png"),
        "Throughput: 100,000 tasks submitted and awaited",
        "million tasks per second (median)",
        groups,
        systems,
        (group, system) => throughput.Rows
            .Where(r => $"{throughput.Text(r, "Work")}, {throughput.Text(r, "Slots")} slots" == group && throughput.Text(r, "Method") == system)
            .Select(r => throughput.Number(r, "TaskCount") / throughput.Seconds(r, "Median") / 1e6)
            .DefaultIfEmpty(double.NaN)
            .First());
    drawn++;
}

if (BenchmarkReport.Load(results, "SchedulingQualityBenchmark") is { } quality)
{
    var groups = quality.Rows.Select(r => quality.Text(r, "Arrivals")).Distinct().SelectMany(a => new[] { $"{a}: mean", $"{a}: p99" }).ToArray();
    var policies = quality.Rows.Select(r => quality.Text(r, "Policy")).Distinct().ToArray();
    GroupedBars(
        Path.Combine(output, "waiting-time-by-policy.png"),
        "Waiting time by scheduling policy (10,000 tasks, 80 % short, 20 % long)",
        "waiting time (ms)",
        groups,
        policies,
        (group, policy) => quality.Rows
            .Where(r => group.StartsWith(quality.Text(r, "Arrivals") + ":", StringComparison.Ordinal) && quality.Text(r, "Policy") == policy)
            .Select(r => quality.Number(r, group.EndsWith("mean", StringComparison.Ordinal) ? "Mean wait" : "P99 wait"))
            .DefaultIfEmpty(double.NaN)
            .First());
    drawn++;
}

if (BenchmarkReport.Load(results, "LatencyBenchmark") is { } latency)
{
    string[] groups = ["Start p50", "Start p99", "Done p50", "Done p99"];
    var systems = latency.Rows.Select(r => latency.Text(r, "System")).Distinct().ToArray();
    GroupedBars(
        Path.Combine(output, "latency.png"),
        "Open-loop latency at 10,000 tasks/s, 2 workers (log scale)",
        "log10(microseconds from scheduled arrival)",
        groups,
        systems,
        (group, system) => latency.Rows
            .Where(r => latency.Text(r, "System") == system)
            .Select(r => Math.Log10(Math.Max(0.1, latency.Number(r, group + " (µs)"))))
            .DefaultIfEmpty(double.NaN)
            .First());
    drawn++;
}

if (BenchmarkReport.Load(results, "ExternalLibrariesBenchmark") is { } external)
{
    var systems = external.Rows.Select(r => external.Text(r, "Method")).ToArray();
    GroupedBars(
        Path.Combine(output, "libraries.png"),
        "10,000 no-op jobs, 2 workers: jobs per second (median), log scale",
        "log10(jobs per second)",
        ["jobs per second"],
        systems,
        (_, system) => external.Rows
            .Where(r => external.Text(r, "Method") == system)
            .Select(r => Math.Log10(external.Number(r, "JobCount") / external.Seconds(r, "Median")))
            .First());
    drawn++;
}

Console.WriteLine($"BenchmarkCharts: {drawn} chart(s) written to {output}");
return drawn > 0 ? 0 : 1;

static void GroupedBars(string path, string title, string yLabel, string[] groups, string[] series, Func<string, string, double> value)
{
    var plot = new Plot();
    var palette = new ScottPlot.Palettes.Category10();
    var bars = new List<Bar>();
    var ticks = new ScottPlot.TickGenerators.NumericManual();
    var slot = 0.0;
    foreach (var group in groups)
    {
        var start = slot;
        for (var s = 0; s < series.Length; s++)
        {
            var v = value(group, series[s]);
            if (!double.IsNaN(v))
            {
                bars.Add(new Bar { Position = slot, Value = v, FillColor = palette.GetColor(s), Size = 0.9 });
            }

            slot += 1;
        }

        ticks.AddMajor((start + slot - 1) / 2, group);
        slot += 1.5;
    }

    plot.Add.Bars(bars);
    plot.Axes.Bottom.TickGenerator = ticks;
    plot.Axes.Margins(bottom: 0);
    plot.Title(title);
    plot.YLabel(yLabel);
    plot.Legend.IsVisible = true;
    plot.Legend.Alignment = Alignment.UpperRight;
    for (var s = 0; s < series.Length; s++)
    {
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s], FillColor = palette.GetColor(s) });
    }

    plot.SavePng(path, 1200, 600);
}
