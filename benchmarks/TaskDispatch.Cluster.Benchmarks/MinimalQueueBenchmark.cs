using BenchmarkDotNet.Attributes;
using Npgsql;
using NpgsqlTypes;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>The floor under <see cref="ClusterThroughputBenchmark"/>: the least a durable PostgreSQL queue does per task,
/// written by hand with Npgsql on the same server. Each task is one row, written once when submitted (batches of
/// 1,000, one statement in flight, as the cluster's submitter writes), leased by an <c>UPDATE</c> of up to 160 rows
/// picked with <c>FOR UPDATE SKIP LOCKED</c> through a partial index of the ready rows, and written once more when it
/// ends, with its result. Four worker loops lease and end tasks (two ran 20,000 tasks in about 620 ms, four and eight in about 500). Everything a cluster adds is left
/// out: task ids given by callers, leases that expire and fence, attempts, checkpoints, scheduling order beyond
/// insertion order, node placement, membership, and results and wake-ups through LISTEN/NOTIFY (the loops here learn
/// of new work and of ended tasks in process). Every commit waits for the disk, as the cluster's do.</summary>
[ClusterJob(warmupCount: 5)]
[MedianColumn]
public class MinimalQueueBenchmark
{
    private const int SubmitBatch = 1_000;
    private const int LeaseBatch = 160;
    private const int Workers = 4;

    private static readonly TimeSpan s_operationTimeout = TimeSpan.FromSeconds(120);

    private string? _schema;
    private NpgsqlDataSource? _dataSource;
    private string _insert = "";
    private string _lease = "";
    private string _complete = "";

    /// <summary>How many tasks one operation submits and waits for, as in <see cref="ClusterThroughputBenchmark"/>.</summary>
    [Params(20_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _schema = ClusterServer.CreateSchema("td_minimal");
        _dataSource = NpgsqlDataSource.Create(ClusterServer.ConnectionString);
        var s = _schema;
        using (var create = _dataSource.CreateCommand($"""
            CREATE TABLE {s}.jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL, state smallint NOT NULL, result text);
            CREATE INDEX jobs_ready ON {s}.jobs (id) WHERE state = 0;
            """))
        {
            create.ExecuteNonQuery();
        }

        _insert = $"INSERT INTO {s}.jobs (payload, state) SELECT p, 0 FROM unnest($1::text[]) AS p";
        _lease = $"""
            UPDATE {s}.jobs SET state = 1
            WHERE id = ANY(ARRAY(SELECT id FROM {s}.jobs WHERE state = 0 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
            RETURNING id, payload
            """;
        _complete = $"UPDATE {s}.jobs j SET state = 2, result = v.result FROM unnest($1::int8[], $2::text[]) AS v(id, result) WHERE j.id = v.id AND j.state = 1";
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dataSource?.Dispose();
        if (_schema is not null)
        {
            ClusterServer.DropSchema(_schema);
        }
    }

    [Benchmark(Description = "Hand-written minimal queue on Npgsql, 4 worker loops")]
    public async Task SubmitManyAndAwaitAll()
    {
        var completed = 0;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var work = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();

        var workers = Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(() => WorkAsync())));
        try
        {
            for (var start = 0; start < Tasks; start += SubmitBatch)
            {
                var payloads = new string[Math.Min(SubmitBatch, Tasks - start)];
                for (var i = 0; i < payloads.Length; i++)
                {
                    payloads[i] = (start + i).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await using var insert = _dataSource!.CreateCommand(_insert);
                insert.Parameters.Add(new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = payloads });
                await insert.ExecuteNonQueryAsync();
                work.Release(Workers);
            }

            // A worker that fails ends the operation with its exception instead of leaving it waiting for tasks that never
            // end; so does a task that never ends, after the same time HangfireBenchmark gives an operation.
            await Task.WhenAny(allDone.Task, workers).Unwrap().WaitAsync(s_operationTimeout);
        }
        finally
        {
            await stop.CancelAsync();
            work.Release(Workers);
        }

        await workers;

        async Task WorkAsync()
        {
            var ids = new List<long>(LeaseBatch);
            var results = new List<string>(LeaseBatch);
            while (!stop.IsCancellationRequested)
            {
                ids.Clear();
                results.Clear();
                await using (var lease = _dataSource!.CreateCommand(_lease))
                {
                    lease.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LeaseBatch });
                    await using var reader = await lease.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                        ids.Add(reader.GetInt64(0));
                        results.Add(reader.GetString(1));
                    }
                }

                if (ids.Count == 0)
                {
                    await work.WaitAsync();
                    continue;
                }

                await using (var complete = _dataSource!.CreateCommand(_complete))
                {
                    complete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids.ToArray() });
                    complete.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = results.ToArray() });
                    await complete.ExecuteNonQueryAsync();
                }

                if (Interlocked.Add(ref completed, ids.Count) == Tasks)
                {
                    allDone.TrySetResult();
                }
            }
        }
    }
}
