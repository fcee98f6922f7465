using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// What a durable submission costs: <see cref="TaskCount"/> handler tasks submitted, each submission awaited until the
/// dispatcher acknowledges it (for the SQLite store: until its commit is durable), by one submitter or by eight at once
/// (whose submissions share commits). The baseline is the same submissions to an in-memory dispatcher. Per operation
/// one task; the tasks run (a no-op handler) and end meanwhile, and their ends share the same writer.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DurableSubmitBenchmark
{
    private const int TaskCount = 2_000;

    private string _directory = null!;
    private TaskDispatcher _inMemory = null!;
    private TaskDispatcher _durable = null!;

    /// <summary>SQLite's synchronous setting: FULL (acknowledged tasks survive a power loss) or NORMAL (a process crash).</summary>
    [Params(SqliteSynchronous.Full, SqliteSynchronous.Normal)]
    public SqliteSynchronous Synchronous { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("taskdispatch-bench-").FullName;
        var services = new ServiceCollection().BuildServiceProvider();
        _inMemory = new TaskDispatcherBuilder().UseServiceProvider(services).Configure(o => o.MaxPendingTasks = TaskCount * 4).Build();
        _durable = new TaskDispatcherBuilder()
            .UseServiceProvider(services)
            .Configure(o => o.MaxPendingTasks = TaskCount * 4)
            .UseSqliteStore(Path.Combine(_directory, "tasks.db"), o => o.Synchronous = Synchronous)
            .Build();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _inMemory.Dispose();
        _durable.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = TaskCount, Description = "in-memory, one submitter")]
    public Task InMemorySingle() => SubmitAsync(_inMemory, submitters: 1);

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "SQLite, one submitter")]
    public Task SqliteSingle() => SubmitAsync(_durable, submitters: 1);

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "in-memory, 8 submitters")]
    public Task InMemoryConcurrent() => SubmitAsync(_inMemory, submitters: 8);

    [Benchmark(OperationsPerInvoke = TaskCount, Description = "SQLite, 8 submitters (group commit)")]
    public Task SqliteConcurrent() => SubmitAsync(_durable, submitters: 8);

    private static async Task SubmitAsync(TaskDispatcher dispatcher, int submitters)
    {
        var lanes = new Task[submitters];
        for (var lane = 0; lane < submitters; lane++)
        {
            var count = TaskCount / submitters;
            lanes[lane] = Task.Run(async () =>
            {
                for (var i = 0; i < count; i++)
                {
                    await dispatcher.SubmitAsync<NoOpHandler, int, int>(i).ConfigureAwait(false);
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
