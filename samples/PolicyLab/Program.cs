using System.Globalization;
using System.Text;
using PolicyLab;
using ScottPlot;
using TaskDispatch;
using TaskDispatch.Simulation;

// Compares the built-in scheduling policies and allocation strategies on one workload, with the very policy objects
// the dispatcher runs: a table of every pair, and charts of the waits, the queue and the utilization.
LabSettings settings;
try
{
    settings = LabSettings.Parse(args);
}
catch (Exception exception) when (exception is ArgumentException or FormatException)
{
    Console.Error.WriteLine(exception.Message);
    return 2;
}

var weights = new Dictionary<string, double>(StringComparer.Ordinal) { ["tenant-a"] = 1, ["tenant-b"] = 2, ["tenant-c"] = 3 };
string[] tenants = [.. weights.Keys];
(string Name, Func<ISchedulingPolicy> Create, bool GivesEstimates)[] policies =
[
    ("FCFS", SchedulingPolicy.FirstComeFirstServed, false),
    ("SJF (estimates)", () => SchedulingPolicy.ShortestJobFirst(), true),
    ("SJF (learned)", () => SchedulingPolicy.ShortestJobFirst(), false),
    ("Priority", () => SchedulingPolicy.Priority(), false),
    ("Priority, aging 1 s", () => SchedulingPolicy.Priority(options => options.AgingInterval = TimeSpan.FromSeconds(1)), false),
    ("EDF", () => SchedulingPolicy.EarliestDeadlineFirst(), false),
    ("Fair share 1:2:3", () => SchedulingPolicy.WeightedFairShare(options => { foreach (var (key, weight) in weights) { options.Weights[key] = weight; } }), false),
];
(string Name, Func<IAllocationStrategy> Create)[] strategies =
[
    ("round-robin", AllocationStrategy.RoundRobin),
    ("random", () => AllocationStrategy.Random(new Random(settings.Seed))),
    ("weighted random", () => AllocationStrategy.WeightedRandom(new Random(settings.Seed))),
    ("least loaded", AllocationStrategy.LeastLoaded),
    ("two choices", () => AllocationStrategy.PowerOfTwoChoices(new Random(settings.Seed))),
];
const string ChartedStrategy = "least loaded";

var nodes = settings.Cluster();
var trace = settings.TracePath is { } tracePath ? TaskTrace.Load(tracePath) : null;
var arrivals = trace is null ? settings.Arrivals() : null;
var serviceTime = settings.ServiceTime;
SimulatedWorkload Workload(bool givesEstimates) => trace is not null
    ? new TaskTrace(trace.Records.Select(record => givesEstimates ? record with { EstimatedDuration = record.Duration } : record)).ToWorkload(settings.Seed)
    : new()
    {
        Count = settings.Tasks,
        Arrivals = arrivals!,
        ServiceTime = serviceTime,
        Seed = settings.Seed,
        Options = (task, random) => new TaskOptions
        {
            Priority = random.Next(4),
            Deadline = DateTimeOffset.UnixEpoch + task.Arrival + (10 * task.ServiceTime),
            FairnessKey = tenants[task.Index % tenants.Length],
            EstimatedDuration = givesEstimates ? task.ServiceTime : null,
        },
    };

// Failed attempts get 3 retries 10 ms apart, doubling, with seeded jitter; a dead node's attempts move elsewhere at once.
IRecoveryPolicy Recovery() => RecoveryPolicy.Retry(options =>
{
    options.MaxRetryAttempts = 3;
    options.Delay = TimeSpan.FromMilliseconds(10);
    options.BackoffType = DelayBackoffType.Exponential;
    options.UseJitter = true;
    options.Random = new Random(settings.Seed);
}).WithFailover();

var failures = settings.FailureRate > 0 || settings.Outage is not null;
var described = trace is not null
    ? $"{trace.Records.Count:N0} tasks replayed from {settings.TracePath} ({Plural(trace.Records.Select(record => record.Kind).Distinct().Count(), "kind")}, mean duration {trace.Records.Average(record => record.Duration.TotalMilliseconds):0.###} ms)"
    : $"{settings.Tasks:N0} tasks, {settings.ArrivalsName} arrivals at {settings.Load:P0} load, {settings.ServiceName} service times (mean {serviceTime.Mean.TotalMilliseconds:0.#} ms)";
Console.WriteLine($"policy lab: {described}, {nodes.Length} nodes ({string.Join(", ", nodes.Select(node => $"{node.Name}: {node.Slots} slots, speed {node.Speed}"))}), seed {settings.Seed}" +
    (failures ? $", failure rate {settings.FailureRate:P1}{(settings.Outage is { } outage ? $", {nodes[0].Name} {outage}" : string.Empty)}" : string.Empty));

var rows = new List<(string Policy, string Strategy, SimulationReport Report)>();
var charted = new Dictionary<string, List<SimulatedOutcome>>(StringComparer.Ordinal);
var total = policies.Length * strategies.Length;
var simulated = 0L;
var realTime = TimeSpan.Zero;
foreach (var policy in policies)
{
    var workload = Workload(policy.GivesEstimates);
    foreach (var strategy in strategies)
    {
        Progress(rows.Count, total, $"{policy.Name} + {strategy.Name}");
        List<SimulatedOutcome>? outcomes = strategy.Name == ChartedStrategy ? [] : null;
        var report = PolicySimulator.Run(workload, nodes, policy.Create(), strategy.Create(), Recovery(), weights, outcomes is null ? null : outcomes.Add);
        if (outcomes is not null)
        {
            charted[policy.Name] = outcomes;
        }

        rows.Add((policy.Name, strategy.Name, report));
        simulated += report.Tasks;
        realTime += report.RealTime;
    }
}

Progress(total, total, "done");
Console.Error.WriteLine();

Directory.CreateDirectory(settings.Output);
var table = Table(rows, failures);
Console.WriteLine(table);
File.WriteAllText(Path.Combine(settings.Output, "results.md"), table);
var charts = DrawCharts(settings.Output, charted, nodes);
Console.WriteLine($"policy lab: {rows.Count} simulations of {rows[0].Report.Tasks:N0} tasks ({simulated / realTime.TotalSeconds:N0} simulated tasks/s); table and {charts} charts in {Path.GetFullPath(settings.Output)}");
return 0;

static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count:N0} {noun}s";

static void Progress(int done, int total, string what)
{
    const int Width = 30;
    var filled = done * Width / total;
    Console.Error.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total} {what,-40}");
}

static string Table(List<(string Policy, string Strategy, SimulationReport Report)> rows, bool failures)
{
    var culture = CultureInfo.InvariantCulture;
    var text = new StringBuilder();
    var nodeNames = string.Join(" / ", rows[0].Report.Nodes.Select(node => node.Name));
    var keys = rows[0].Report.ServiceShares.Keys.Order(StringComparer.Ordinal).ToList();
    text.Append(culture, $"| policy | strategy | mean wait | p50 | p95 | p99 | mean response | utilization ({nodeNames}) | fairness (Jain) | service shares ({string.Join(" / ", keys)}) | deadlines missed |")
        .AppendLine(failures ? " restarts | mean recovery | lost |" : string.Empty);
    text.Append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |").AppendLine(failures ? " ---: | ---: | ---: |" : string.Empty);
    foreach (var (policy, strategy, report) in rows)
    {
        var utilization = string.Join(" / ", report.Nodes.Select(node => node.Utilization.ToString("P0", culture)));
        var shares = string.Join(" / ", keys.Select(key => report.ServiceShares.GetValueOrDefault(key).ToString("P1", culture)));
        text.Append(culture, $"| {policy} | {strategy} | {Ms(report.Waiting.Mean)} | {Ms(report.Waiting.P50)} | {Ms(report.Waiting.P95)} | {Ms(report.Waiting.P99)} | {Ms(report.Response.Mean)} | ")
            .Append(culture, $"{utilization} | {report.Fairness ?? 1:0.000} | {shares} | {(double)report.DeadlinesMissed / Math.Max(1, report.TasksWithDeadline):P1} |");
        if (failures)
        {
            text.Append(culture, $" {report.Restarts:N0} | {Ms(report.Recovery.Mean)} | {report.LossRate:P2} |");
        }

        text.AppendLine();
    }

    return text.ToString();

    static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("#,0.#", CultureInfo.InvariantCulture) + " ms";
}

static int DrawCharts(string output, Dictionary<string, List<SimulatedOutcome>> outcomes, SimulatedNode[] nodes)
{
    // Waiting-time distribution: the wait at each percentile, per policy.
    var waits = new Plot();
    foreach (var (policy, ended) in outcomes)
    {
        var sorted = ended.Select(outcome => outcome.Wait.TotalMilliseconds).Order().ToArray();
        var percentiles = Enumerable.Range(0, 101).Select(p => (double)p).ToArray();
        var values = percentiles.Select(p => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)]).ToArray();
        waits.Add.Scatter(percentiles, values).LegendText = policy;
    }

    waits.Title($"Waiting time by percentile ({ChartedStrategyName()})");
    waits.XLabel("percentile");
    waits.YLabel("wait (ms)");
    waits.ShowLegend(Alignment.UpperLeft);
    waits.SavePng(Path.Combine(output, "waiting-times.png"), 1100, 600);

    // Queue length and utilization over time, from every task's arrival, start and end.
    var slots = nodes.Sum(node => node.Slots);
    var queue = new Plot();
    var utilization = new Plot();
    foreach (var (policy, ended) in outcomes)
    {
        var makespan = ended.Max(outcome => (outcome.Arrival + outcome.Response).TotalSeconds);
        const int Buckets = 200;
        var times = Enumerable.Range(0, Buckets).Select(i => makespan * i / (Buckets - 1)).ToArray();
        var arrived = new double[Buckets];
        var started = new double[Buckets];
        var finished = new double[Buckets];
        foreach (var outcome in ended)
        {
            Count(arrived, outcome.Arrival.TotalSeconds);
            Count(started, (outcome.Arrival + outcome.Wait).TotalSeconds);
            Count(finished, (outcome.Arrival + outcome.Response).TotalSeconds);
        }

        for (var i = 1; i < Buckets; i++)
        {
            (arrived[i], started[i], finished[i]) = (arrived[i] + arrived[i - 1], started[i] + started[i - 1], finished[i] + finished[i - 1]);
        }

        queue.Add.Scatter(times, arrived.Zip(started, (a, s) => a - s).ToArray()).LegendText = policy;
        utilization.Add.Scatter(times, started.Zip(finished, (s, f) => (s - f) / slots).ToArray()).LegendText = policy;

        void Count(double[] counts, double at) => counts[Math.Clamp((int)Math.Ceiling(at / makespan * (Buckets - 1)), 0, Buckets - 1)]++;
    }

    queue.Title("Tasks waiting over time");
    queue.XLabel("time (s)");
    queue.YLabel("tasks waiting");
    queue.ShowLegend(Alignment.UpperRight);
    queue.SavePng(Path.Combine(output, "queue-length.png"), 1100, 600);
    utilization.Title("Busy slots over time");
    utilization.XLabel("time (s)");
    utilization.YLabel("share of slots busy");
    utilization.ShowLegend(Alignment.LowerRight);
    utilization.SavePng(Path.Combine(output, "utilization.png"), 1100, 600);
    return 3;

    static string ChartedStrategyName() => "least loaded allocation";
}
