using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// What durability costs. Submission: <see cref="TaskCount"/> handler tasks, each submission awaited until the
/// dispatcher acknowledges it (for the SQLite store: until its commit is durable), by one submitter or by eight at once
/// (whose submissions share commits); the tasks are delayed by an hour, so this measures the durable write alone, and
/// they are cancelled after each iteration. End to end: the same tasks submitted by eight submitters and run to their
/// end on 16 slots (a durable attempt waits for its start to be committed, so slots are what let starts share commits).
/// The baseline is the same submissions to an in-memory dispatcher. Per operation: one task.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DurableSubmitBenchmark
{
    private const int TaskCount = 2_000;

    private readonly ConcurrentQueue<TaskHandle> _delayed = new();
    private string _directory = null!;
    private TaskDispatcher _inMemory = null!;
    private TaskDispatcher _durable = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _rawInsert = null!;
    private long _rawRows;

    /// <summary>SQLite's synchronous setting: FULL (acknowledged tasks survive a power loss) or NORMAL (a process crash).</summary>
    [Params(SqliteSynchronous.Full, SqliteSynchronous.Normal)]
    public SqliteSynchronous Synchronous { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("taskdispatch-bench-").FullName;
        var services = new ServiceCollection().BuildServiceProvider();
        _inMemory = new TaskDispatcherBuilder().UseServiceProvider(services).Configure(o => o.MaxPendingTasks = 1_000_000).Build();
        _durable = new TaskDispatcherBuilder()
            .UseServiceProvider(services)
            .Configure(o => o.MaxPendingTasks = 1_000_000)
            .UseSqliteStore(Path.Combine(_directory, "tasks.db"), o => o.Synchronous = Synchronous)
            .AddNode("local", node => node.WithConcurrency(16))
            .Build();
    }

    [GlobalSetup(Target = nameof(RawSqliteSingle))]
    public void SetupRaw()
    {
        Setup();
        _raw = new SqliteConnection($"Data Source={Path.Combine(_directory, "raw.db")};Pooling=False");
        _raw.Open();
        using (var pragmas = _raw.CreateCommand())
        {
            pragmas.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {(Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")}; CREATE TABLE rows (id TEXT NOT NULL PRIMARY KEY, payload TEXT NOT NULL) WITHOUT ROWID;";
            pragmas.ExecuteNonQuery();
        }

        _rawInsert = _raw.CreateCommand();
        _rawInsert.CommandText = "INSERT INTO rows (id, payload) VALUES ($id, '0');";
        _rawInsert.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
    }

    [IterationCleanup]
    public void CancelDelayed()
    {
        var ends = new List<Task>();
        while (_delayed.TryDequeue(out var task))
        {
            task.Cancel();
            ends.Add(task.Completion);
        }

        Task.WhenAll(ends).ContinueWith(static _ => { }, TaskScheduler.Default).Wait();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rawInsert?.Dispose();
        _raw?.Dispose();
        _inMemory.Dispose();
        _durable.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = TaskCount, Description = "submit, in-memory, one submitter")]
    public Task InMemorySingle() => SubmitAsync(_inMemory, submitters: 1, delayed: true);

    /// <summary>The floor under one awaited durable submission: the same SQLite file settings, one INSERT per commit,
    /// with no dispatcher around it.</summary>
    [Benchmark(OperationsPerInvoke = TaskCount, Description = "raw SQLite, one INSERT per commit (the floor)")]
    public void RawSqliteSingle()
    {
        for (var i = 0; i < TaskCount; i++)
        {
            using var transaction = _raw.BeginTransaction();
            _rawInsert.Transaction = transaction;
            _rawInsert.Parameters[0].Value = (++_rawRows).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _rawInsert.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "submit, SQLite, one submitter")]
    public Task SqliteSingle() => SubmitAsync(_durable, submitters: 1, delayed: true);

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "submit, SQLite, 8 submitters (group commit)")]
    public Task SqliteConcurrent() => SubmitAsync(_durable, submitters: 8, delayed: true);

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "submit, SQLite, 8 submitters, SubmitManyAsync of 250")]
    public async Task SqliteBatches()
    {
        var options = new TaskOptions { Delay = TimeSpan.FromHours(1) };
        var lanes = new Task[8];
        for (var lane = 0; lane < lanes.Length; lane++)
        {
            lanes[lane] = Task.Run(async () =>
            {
                foreach (var handle in await _durable.SubmitManyAsync<NoOpHandler, int, int>(Enumerable.Range(0, TaskCount / 8), options).ConfigureAwait(false))
                {
                    _delayed.Enqueue(handle);
                }
            });
        }

        await Task.WhenAll(lanes).ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "submit, run and end, SQLite, 8 submitters, 16 slots")]
    public Task SqliteEndToEnd() => SubmitAsync(_durable, submitters: 8, delayed: false);

    private async Task SubmitAsync(TaskDispatcher dispatcher, int submitters, bool delayed)
    {
        var options = delayed ? new TaskOptions { Delay = TimeSpan.FromHours(1) } : null;
        var lanes = new Task[submitters];
        for (var lane = 0; lane < submitters; lane++)
        {
            var count = TaskCount / submitters;
            lanes[lane] = Task.Run(async () =>
            {
                var handles = new List<TaskHandle>(count);
                for (var i = 0; i < count; i++)
                {
                    handles.Add(await dispatcher.SubmitAsync<NoOpHandler, int, int>(i, options).ConfigureAwait(false));
                }

                if (delayed)
                {
                    foreach (var handle in handles)
                    {
                        _delayed.Enqueue(handle);
                    }
                }
                else
                {
                    foreach (var handle in handles)
                    {
                        await handle.AsValueTask().ConfigureAwait(false);
                    }
                }
            });
        }

        await Task.WhenAll(lanes).ConfigureAwait(false);
    }

    /// <summary>Returns its input.</summary>
    public sealed class NoOpHandler : ITaskHandler<int, int>
    {
        /// <inheritdoc />
        public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input);
    }
}
