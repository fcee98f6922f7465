using System.Diagnostics;
using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>Submit-to-start latency on an idle cluster: one task at a time, from the submitter's call to the handler's
/// first line on a node of another member (the commit, the NOTIFY, the lease). Each operation is 100 tasks one after the
/// other; every latency is kept, and the run prints p50 and p99 over all of them.</summary>
[ClusterJob]
[MedianColumn]
public class SubmitToStartBenchmark
{
    private const int PerOperation = 100;
    private readonly List<double> _latenciesMs = [];
    private string? _schema;
    private TaskCluster? _workers;
    private TaskCluster? _submitter;

    [GlobalSetup]
    public void Setup()
    {
        _schema = ClusterServer.CreateSchema("td_latency");
        _workers = Member().AddNode("node-1", node => node.WithConcurrency(8)).BuildAsync().GetAwaiter().GetResult();
        _submitter = Member().BuildAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_latenciesMs.Count > 0)
        {
            _latenciesMs.Sort();
            Console.WriteLine($"// submit-to-start over {_latenciesMs.Count} tasks on an idle cluster: p50 {Percentile(0.50):F2} ms, p99 {Percentile(0.99):F2} ms, max {_latenciesMs[^1]:F2} ms");
        }

        _submitter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _workers?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_schema is not null)
        {
            ClusterServer.DropSchema(_schema);
        }
    }

    [Benchmark(OperationsPerInvoke = PerOperation, Description = "submit to start, idle cluster")]
    public async Task SubmitToStart()
    {
        for (var i = 0; i < PerOperation; i++)
        {
            var started = StartSignalHandler.Arm();
            var submittedAt = Stopwatch.GetTimestamp();
            var handle = await _submitter!.SubmitAsync<StartSignalHandler, long, long>(submittedAt);
            var startedAt = await started;
            _latenciesMs.Add(Stopwatch.GetElapsedTime(submittedAt, startedAt).TotalMilliseconds);
            await handle;
        }
    }

    private double Percentile(double fraction) => _latenciesMs[Math.Min(_latenciesMs.Count - 1, (int)Math.Ceiling(fraction * _latenciesMs.Count) - 1)];

    private TaskClusterBuilder Member() => new TaskClusterBuilder("latency")
        .UsePostgreSqlStore(ClusterServer.ConnectionString, options => options.Schema = _schema!)
        .AddHandler<StartSignalHandler, long, long>("start-signal");
}

/// <summary>Signals the moment it starts, for the latency benchmark.</summary>
public sealed class StartSignalHandler : ITaskHandler<long, long>
{
    private static TaskCompletionSource<long> s_started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal static Task<long> Arm()
    {
        var started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref s_started, started);
        return started.Task;
    }

    /// <inheritdoc />
    public ValueTask<long> HandleAsync(long input, TaskContext context)
    {
        Volatile.Read(ref s_started).TrySetResult(Stopwatch.GetTimestamp());
        return ValueTask.FromResult(input);
    }
}
