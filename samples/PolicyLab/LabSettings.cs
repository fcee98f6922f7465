using System.Globalization;
using TaskDispatch.Simulation;

namespace PolicyLab;

/// <summary>The workload and cluster the lab compares policies on, from the command line.</summary>
internal sealed record LabSettings(int Tasks, string ArrivalsName, double Load, string ServiceName, int Nodes, int Seed, string Output)
{
    internal const string Usage = """
        usage: dotnet run --project samples/PolicyLab -- [--tasks 200000] [--arrivals poisson|bursty|backlog] [--load 0.9]
                          [--service exponential|lognormal|bimodal|pareto] [--nodes 4] [--seed 1] [--out policy-lab]
                          [--trace recorded.csv] [--failure-rate 0.02] [--outage 30:10]
          --trace         replay a recorded trace (TaskTraceRecorder) instead of drawing tasks; --tasks, --arrivals,
                          --load and --service are then ignored, and --seed only draws the failures
          --failure-rate  the share of attempts that fail on every node; failed attempts are retried up to 3 times
          --outage        the first node dies at the first number of seconds, and comes back after the second (omit it
                          for a node that never comes back)
        """;

    /// <summary>Gets the recorded trace to replay, if any.</summary>
    internal string? TracePath { get; init; }

    /// <summary>Gets the share of attempts that fail on each node.</summary>
    internal double FailureRate { get; init; }

    /// <summary>Gets the first node's outage, if any.</summary>
    internal SimulatedOutage? Outage { get; init; }

    internal static LabSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs, got '{string.Join(' ', args)}'.\n{Usage}");
            }

            values[args[i][2..]] = args[i + 1];
        }

        var unknown = values.Keys.Except(["tasks", "arrivals", "load", "service", "nodes", "seed", "out", "trace", "failure-rate", "outage"]).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", unknown.Select(name => "--" + name))}.\n{Usage}");
        }

        var settings = new LabSettings(
            Number(values, "tasks", 200_000),
            values.GetValueOrDefault("arrivals", "poisson"),
            double.Parse(values.GetValueOrDefault("load", "0.9"), CultureInfo.InvariantCulture),
            values.GetValueOrDefault("service", "bimodal"),
            Number(values, "nodes", 4),
            Number(values, "seed", 1),
            values.GetValueOrDefault("out", "policy-lab"))
        {
            TracePath = values.GetValueOrDefault("trace"),
            FailureRate = double.Parse(values.GetValueOrDefault("failure-rate", "0"), CultureInfo.InvariantCulture),
            Outage = values.TryGetValue("outage", out var outage) ? ParseOutage(outage) : null,
        };
        if (settings.Tasks < 1 || settings.Nodes < 1 || !(settings.Load > 0 && settings.Load < 1) || !(settings.FailureRate >= 0 && settings.FailureRate < 1))
        {
            throw new ArgumentException($"--tasks and --nodes must be at least 1, --load between 0 and 1 (exclusive) and --failure-rate from 0 to 1 (exclusive).\n{Usage}");
        }

        return settings;
    }

    /// <summary>Service times of mean about 100 ms, each with its own shape.</summary>
    internal ServiceTime ServiceTime => ServiceName switch
    {
        "exponential" => ServiceTime.Exponential(TimeSpan.FromMilliseconds(100)),
        "lognormal" => ServiceTime.LogNormal(TimeSpan.FromMilliseconds(60), 1),
        "bimodal" => ServiceTime.Bimodal(0.8, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(800)),
        "pareto" => ServiceTime.Pareto(TimeSpan.FromMilliseconds(40), 1.7),
        _ => throw new ArgumentException($"Unknown --service '{ServiceName}'.\n{Usage}"),
    };

    /// <summary>The cluster: half the nodes twice as fast (and weighted so), each with two slots, each failing
    /// <see cref="FailureRate"/> of its attempts; the first is down during <see cref="Outage"/>.</summary>
    internal SimulatedNode[] Cluster() => [.. Enumerable.Range(0, Nodes).Select(i =>
    {
        var node = i % 2 == 0
            ? new SimulatedNode($"fast-{i}", slots: 2, weight: 2, speed: 2) { FailureRate = FailureRate }
            : new SimulatedNode($"slow-{i}", slots: 2, weight: 1, speed: 1) { FailureRate = FailureRate };
        if (i == 0 && Outage is { } outage)
        {
            node.Outages.Add(outage);
        }

        return node;
    })];

    private static SimulatedOutage ParseOutage(string text)
    {
        var parts = text.Split(':');
        var at = TimeSpan.FromSeconds(double.Parse(parts[0], CultureInfo.InvariantCulture));
        return parts.Length switch
        {
            1 => new SimulatedOutage(at),
            2 => new SimulatedOutage(at, TimeSpan.FromSeconds(double.Parse(parts[1], CultureInfo.InvariantCulture))),
            _ => throw new ArgumentException($"--outage takes 'start:duration' in seconds, or 'start' alone, not '{text}'.\n{Usage}"),
        };
    }

    /// <summary>Arrivals at <see cref="Load"/> of the cluster's capacity.</summary>
    internal Arrivals Arrivals()
    {
        var capacityPerSecond = Cluster().Sum(node => node.Slots * node.Speed) / ServiceTime.Mean.TotalSeconds;
        return ArrivalsName switch
        {
            "poisson" => TaskDispatch.Simulation.Arrivals.Poisson(Load * capacityPerSecond),
            "bursty" => TaskDispatch.Simulation.Arrivals.Bursty(2 * Load * capacityPerSecond, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)),
            "backlog" => TaskDispatch.Simulation.Arrivals.AllAtOnce(),
            _ => throw new ArgumentException($"Unknown --arrivals '{ArrivalsName}'.\n{Usage}"),
        };
    }

    private static int Number(Dictionary<string, string> values, string name, int fallback) =>
        values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
