using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>TaskDispatch.PostgreSql doing what <see cref="HangfireBenchmark"/> does: no-op jobs submitted and run to
/// completion on the same server, every handle awaited (results come back through LISTEN/NOTIFY). One member runs two
/// nodes of 32 slots, each leasing in batches of up to 1,000 tasks (<see cref="BatchedLeases"/>);
/// another member (same process, its own connections) submits.</summary>
[ClusterJob(warmupCount: 5)]
[MedianColumn]
public class ClusterThroughputBenchmark
{
    private string? _schema;
    private TaskCluster? _workers;
    private TaskCluster? _submitter;

    /// <summary>How many tasks one operation submits and awaits: Hangfire's count, and ten times it.</summary>
    [Params(2_000, 20_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _schema = ClusterServer.CreateSchema("td_bench");
        _workers = Member(batchedLeases: true).AddNode("node-1", node => node.WithConcurrency(32)).AddNode("node-2", node => node.WithConcurrency(32)).BuildAsync().GetAwaiter().GetResult();
        _submitter = Member().BuildAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _submitter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _workers?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_schema is not null)
        {
            ClusterServer.DropSchema(_schema);
        }
    }

    [Benchmark(Description = "TaskDispatch.PostgreSql, batched leases, 2 nodes x 32 slots")]
    public async Task SubmitManyAndAwaitAll()
    {
        var handles = await _submitter!.SubmitManyAsync<NoOpHandler, int, int>(Enumerable.Range(0, Tasks));
        foreach (var handle in handles)
        {
            await handle;
        }
    }

    internal TaskClusterBuilder Member(bool batchedLeases = false) => new TaskClusterBuilder("bench")
        .UsePostgreSqlStore(ClusterServer.ConnectionString, options =>
        {
            options.Schema = _schema!;
            if (batchedLeases)
            {
                BatchedLeases.Apply(options);
            }
        })
        .AddHandler<NoOpHandler, int, int>("no-op")
        .AddHandler<StartSignalHandler, long, long>("start-signal");
}

/// <summary>Returns its input: the cost measured is the cluster's, not the work's.</summary>
public sealed class NoOpHandler : ITaskHandler<int, int>
{
    /// <inheritdoc />
    public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input);
}
