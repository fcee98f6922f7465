using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Npgsql;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>The lease path alone: a table already holding <see cref="Tasks"/> waiting tasks is drained by the same member
/// as in <see cref="ClusterThroughputBenchmark"/> (two nodes of 32 slots, <see cref="BatchedLeases"/>), in batched leases, each task
/// run and its end acknowledged, with a submitting member awaiting the done notifications as it would. The operation
/// starts with the work notification a submission sends and ends when the last acknowledgement has committed. The
/// tasks are written in the iteration's setup, unmeasured, by one INSERT that copies a task submitted through the API
/// (same handler, input, options and sort key); nothing notifies the member until the operation starts, and its idle
/// sweep is a minute, so it does not lease them early.</summary>
[ClusterJob(warmupCount: 5)]
[MedianColumn]
public class ClusterDrainBenchmark
{
    private const string ClusterName = "drain";
    private string? _schema;
    private TaskCluster? _workers;
    private TaskCluster? _submitter;
    private MeterListener? _listener;
    private string? _template;
    private int _iteration;
    private long _acknowledged;
    private long _target;
    private TaskCompletionSource? _drained;

    /// <summary>How many waiting tasks one operation drains.</summary>
    [Params(20_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _schema = ClusterServer.CreateSchema("td_drain");
        _workers = Member(batchedLeases: true).AddNode("node-1", node => node.WithConcurrency(32)).AddNode("node-2", node => node.WithConcurrency(32)).BuildAsync().GetAwaiter().GetResult();
        _submitter = Member().BuildAsync().GetAwaiter().GetResult();

        // Counts the ends the workers' member wrote and the store accepted.
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "TaskDispatch.PostgreSql" && instrument.Name == "taskdispatch.cluster.acknowledged")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (Interlocked.Add(ref _acknowledged, value) >= Volatile.Read(ref _target))
            {
                Volatile.Read(ref _drained)?.TrySetResult();
            }
        });
        _listener.Start();

        var handle = _submitter.SubmitAsync<NoOpHandler, int, int>(1).AsTask().GetAwaiter().GetResult();
        handle.Completion.GetAwaiter().GetResult();
        _template = handle.Id;
    }

    [IterationSetup]
    public void Fill()
    {
        _iteration++;
        var s = _schema;
        ClusterServer.Execute(ClusterServer.ConnectionString, $"""
            WITH t AS (SELECT handler, input, options, sort_key FROM "{s}".tasks WHERE cluster = '{ClusterName}' AND id = '{_template}'),
            inserted AS (
                INSERT INTO "{s}".tasks (cluster, id, handler, input, options, sort_key, state, node, submitter, awaited, submitted_at, ready_at)
                SELECT '{ClusterName}', 'drain-{_iteration}-' || g, t.handler, t.input, t.options, t.sort_key, 0, 'node-' || (1 + g % 2),
                       '{_submitter!.MemberId}', true, now(), now()
                FROM t, generate_series(1, {Tasks}) g
                RETURNING cluster, id, node, sort_key, seq, ready_at)
            INSERT INTO "{s}".ready (cluster, node, sort_key, seq, ready_at, id) SELECT cluster, node, sort_key, seq, ready_at, id FROM inserted;
            """);
        Volatile.Write(ref _target, Interlocked.Read(ref _acknowledged) + Tasks);
        Volatile.Write(ref _drained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _submitter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _workers?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_schema is not null)
        {
            ClusterServer.DropSchema(_schema);
        }
    }

    [Benchmark(Description = "TaskDispatch.PostgreSql, drain a filled table, batched leases, 2 nodes x 32 slots")]
    public async Task NotifyAndDrain()
    {
        // The notification a submission sends: each node hears where its first waiting task sits.
        await using (var connection = new NpgsqlConnection(ClusterServer.ConnectionString))
        {
            await connection.OpenAsync();
            await using var notify = new NpgsqlCommand(
                $"""
                SELECT count(pg_notify($1, n.node || chr(10) || encode(float8send(f.sort_key), 'hex') || chr(10) || f.seq::text))
                FROM (VALUES ('node-1'), ('node-2')) AS n(node)
                CROSS JOIN LATERAL (SELECT sort_key, seq FROM "{_schema}".ready WHERE cluster = '{ClusterName}' AND node = n.node
                                    ORDER BY sort_key, seq LIMIT 1) f
                """,
                connection);
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = new ClusterSql(_schema!, ClusterName).WorkChannel });
            await notify.ExecuteScalarAsync();
        }

        await _drained!.Task.WaitAsync(TimeSpan.FromMinutes(2));
    }

    private TaskClusterBuilder Member(bool batchedLeases = false) => new TaskClusterBuilder(ClusterName)
        .UsePostgreSqlStore(ClusterServer.ConnectionString, options =>
        {
            options.Schema = _schema!;
            if (batchedLeases)
            {
                BatchedLeases.Apply(options);
            }

            options.IdleSweepInterval = TimeSpan.FromMinutes(1);
        })
        .AddHandler<NoOpHandler, int, int>("no-op");
}
