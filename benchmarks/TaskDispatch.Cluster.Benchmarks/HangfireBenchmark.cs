using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>
/// The baseline for the cluster: Hangfire 1.8 with Hangfire.PostgreSql 1.21 doing the same work, <see cref="JobCount"/>
/// fire-and-forget no-op jobs enqueued to PostgreSQL and run by a <see cref="BackgroundJobServer"/> in this process,
/// timed from the first enqueue until the last job has run. Per operation: one job.
/// </summary>
/// <remarks>
/// <para>
/// Hangfire is set up for its best throughput; each choice is explained where it is made, with what it was measured
/// to gain (median time per job over 3 operations, 2-core machine shared with other builds, PostgreSQL 15 on the same
/// machine over TCP: expect ±20 % between runs). Jobs run about 100-150 a second: Hangfire makes about nine
/// transactions and about 35 statements per job (creating and enqueuing it, fetching it, a distributed lock around
/// each of its two state changes, deleting it from the queue), and the server and PostgreSQL share the two cores.
/// </para>
/// <para>
/// Hangfire's tables live in a schema of their own, created (empty) in the global setup and dropped in the cleanup,
/// so no run sees another's rows. Every operation gives up after <see cref="s_operationTimeout"/> with a
/// <see cref="TimeoutException"/> instead of hanging. Needs a server: see <see cref="ClusterServer"/>.
/// </para>
/// <para>
/// No [MemoryDiagnoser]: it makes BenchmarkDotNet run one more whole operation (thousands of jobs) after the measured
/// ones, and Hangfire's allocations are spread over its own threads anyway. No [IterationSetup] either: each
/// operation arms its own completion signal, which costs nothing next to the operation.
/// </para>
/// </remarks>
[ClusterJob]
[MedianColumn]
public class HangfireBenchmark
{
    /// <summary>Jobs per operation.</summary>
    public const int JobCount = 2_000;

    // Hangfire's default is min(5 x processors, 20), 10 here. Measured with 8 enqueuers (4 for 40 workers' first pair):
    // 4 workers 10.5/9.3 ms/job; 8 workers 10.4/9.5/10.7/9.7 ms/job (~100 jobs/s); 20 workers 8.5/7.3/6.6/10.2/8.7/7.2
    // ms/job (~125 jobs/s, the best); 40 workers 18.7/14.1 (4 enqueuers) and 12.3/10.3 (8 enqueuers) ms/job: more
    // workers than that only add connections and context switches on two cores.
    private const int WorkerCount = 20;

    // Hangfire has no batch enqueue in its free version: each Enqueue is its own transaction and round trips, so
    // several concurrent enqueuers let PostgreSQL group their commits and overlap their round trips. With 20 workers,
    // 4 enqueuers measured 9.0/9.2/13.6/9.4 ms/job and 8 enqueuers 8.5/7.3/6.6/10.2 ms/job; with 8 workers, 2, 4 and 8
    // enqueuers were alike (~9-10 ms/job). One enqueuer alone needs about 12 ms per Enqueue while the workers run.
    private const int Enqueuers = 8;

    private static readonly TimeSpan s_operationTimeout = TimeSpan.FromSeconds(120);

    private string? _schema;
    private BackgroundJobServer? _server;
    private BackgroundJobClient? _client;

    [GlobalSetup]
    public void Setup()
    {
        _schema = ClusterServer.CreateSchema("hangfire_bench");
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = _schema,

            // Creates Hangfire's tables in the empty schema, here in the setup rather than in a measured operation.
            PrepareSchemaIfNecessary = true,

            // How long an idle worker waits before it queries the queue again (default 15 s). Enqueues made in this
            // process also wake an idle worker at once (Hangfire.PostgreSql signals an in-process event when the
            // enqueuing transaction commits), so this only bounds the wait when such a wake-up is missed. 50 ms is the
            // least the package accepts without AllowUnsafeValues; 1 s measured no better (10.2/7.8 ms/job).
            QueuePollInterval = TimeSpan.FromMilliseconds(50),

            // Hangfire.PostgreSql 1.21 does have a LISTEN/NOTIFY wake-up: EnableLongPolling (off by default). It is
            // left off because it is slower here: every fetch opens its own LISTEN connection for the duration of the
            // fetch, and every enqueue adds a NOTIFY, which serializes committing transactions. With 8 workers and
            // 4 enqueuers it measured 10.4/13.1 ms/job against 8.3/9.8 without. It serves servers in other processes,
            // which this benchmark does not have: the in-process wake-up above already covers its only server.
            EnableLongPolling = false,
        };

        // The storage is handed to the server and the client directly instead of through
        // GlobalConfiguration.UsePostgreSqlStorage, which would set the process-wide JobStorage.Current. The connection
        // factory is the non-obsolete way to give Hangfire.PostgreSql a connection string; Npgsql pools the
        // connections. The connection string is used as given, like the TaskDispatch benchmarks use it.
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(ClusterServer.ConnectionString, options), options);

        // No job filters. Hangfire's defaults (GlobalJobFilters: culture capture, automatic retry, statistics history,
        // continuations) each read or write the storage for every job, and none of them serves a no-op job that never
        // fails and has no continuation: with them the same operation measured 10.4/8.6 ms/job instead of 8.7/7.2. The
        // empty collection is handed to this client and server only; GlobalJobFilters is left as it is.
        var noFilters = new JobFilterCollection();
        _server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                ServerName = nameof(HangfireBenchmark),
                WorkerCount = WorkerCount,

                // Only the workers and the two required watchdogs: no delayed or recurring job schedulers, expiration
                // manager or counter aggregator querying the storage on the same cores. Fire-and-forget jobs never go
                // through them, and the schema is dropped at the end, so nothing needs expiring. (The full server
                // measured the same within the noise: 7.9/8.5 ms/job.)
                IsLightweightServer = true,
                FilterProvider = noFilters,
            },
            storage);
        _client = new BackgroundJobClient(storage, noFilters);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // The server first: its workers use the schema until they stop.
        _server?.Dispose();
        _server = null;
        _client = null;
        if (_schema is not null)
        {
            ClusterServer.DropSchema(_schema);
            _schema = null;
        }
    }

    [Benchmark(OperationsPerInvoke = JobCount, Description = "Hangfire 1.8 + Hangfire.PostgreSql 1.21, 20 workers in process")]
    public void Hangfire()
    {
        var client = _client!;
        var allRan = HangfireBenchmarkJob.Arm(JobCount);
        var deadline = DateTime.UtcNow + s_operationTimeout;

        // Dedicated threads: Enqueue blocks on its database round trips, and the thread pool of a 2-core machine would
        // otherwise start them a few at a time.
        var enqueuers = new Task[Enqueuers];
        for (var e = 0; e < enqueuers.Length; e++)
        {
            var first = e;
            enqueuers[e] = Task.Factory.StartNew(
                () =>
                {
                    for (var i = first; i < JobCount; i += Enqueuers)
                    {
                        client.Enqueue(() => HangfireBenchmarkJob.Run());
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        // Task.WaitAll rethrows an enqueuer's exception (wrapped in an AggregateException), and a job's failure
        // completes allRan with it.
        if (!Task.WaitAll(enqueuers, Remaining(deadline)) || !allRan.Wait(Remaining(deadline)))
        {
            throw new TimeoutException(
                $"Hangfire ran {HangfireBenchmarkJob.Ran} of {JobCount} jobs in {s_operationTimeout.TotalSeconds:0} s.");
        }
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        var remaining = deadline - DateTime.UtcNow;
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }
}

/// <summary>
/// The job <see cref="HangfireBenchmark"/> enqueues. Hangfire stores a job as a method name and serialized arguments
/// and invokes it on its own workers, so a public static method without arguments is the cheapest job it can run, and
/// the completion it signals has to be reachable statically.
/// </summary>
public static class HangfireBenchmarkJob
{
    private static Countdown? s_current;

    /// <summary>Gets how many jobs of the current operation have run.</summary>
    internal static int Ran => Volatile.Read(ref s_current)?.Ran ?? 0;

    /// <summary>Starts an operation of <paramref name="expected"/> jobs; the task completes when they have all run.</summary>
    internal static Task Arm(int expected)
    {
        var countdown = new Countdown(expected);
        Volatile.Write(ref s_current, countdown);
        return countdown.AllRan;
    }

    /// <summary>Counts this job as run.</summary>
    public static void Run() =>
        (Volatile.Read(ref s_current) ?? throw new InvalidOperationException("A Hangfire job ran outside a benchmark operation.")).Increment();

    // One per operation, so a job left over from an operation that timed out cannot count towards the next one.
    private sealed class Countdown(int expected)
    {
        // Asynchronous continuations: the job that completes it runs on a Hangfire worker, which must not go on to run
        // the benchmark's next operation inline.
        private readonly TaskCompletionSource _allRan = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _ran;

        public Task AllRan => _allRan.Task;

        public int Ran => Volatile.Read(ref _ran);

        public void Increment()
        {
            var ran = Interlocked.Increment(ref _ran);
            if (ran == expected)
            {
                _allRan.TrySetResult();
            }
            else if (ran > expected)
            {
                // A job that ran twice (a retry, a redelivery) would otherwise go unnoticed.
                _allRan.TrySetException(new InvalidOperationException($"{ran} jobs ran, {expected} were enqueued."));
            }
        }
    }
}
