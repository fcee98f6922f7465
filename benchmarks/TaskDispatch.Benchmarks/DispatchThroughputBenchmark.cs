using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// N no-op tasks submitted and awaited: TaskDispatch (FCFS + round-robin over two one-slot nodes) against the loop a
/// user writes by hand: a <see cref="Channel{T}"/> with the same number of consumers, completing a
/// <see cref="TaskCompletionSource{TResult}"/> per item.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DispatchThroughputBenchmark
{
    private const int Consumers = 2;

    private TaskDispatcher _dispatcher = null!;
    private HandRolledChannelLoop _channel = null!;
    private Task<int>[] _results = [];
    private TaskHandle<int>[] _handles = [];

    /// <summary>Tasks per operation.</summary>
    [Params(10_000)]
    public int TaskCount { get; set; }

    /// <summary>What each task does: nothing (pure overhead), or yield once (work that really is asynchronous).</summary>
    [Params(WorkKind.NoOp, WorkKind.Yield)]
    public WorkKind Work { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = TaskCount)
            .AddNode("a", node => node.WithConcurrency(1))
            .AddNode("b", node => node.WithConcurrency(1))
            .Build();

        _channel = new HandRolledChannelLoop(Consumers);

        _results = new Task<int>[TaskCount];
        _handles = new TaskHandle<int>[TaskCount];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _channel.Dispose();
        _dispatcher.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Hand-rolled Channel<T> loop, 2 consumers")]
    public Task<int> HandRolledChannel() =>
        _channel.RunAsync(Work == WorkKind.NoOp ? static () => ValueTask.FromResult(1) : static () => YieldOnceAsync(), _results);

    [Benchmark(Description = "TaskDispatch FCFS + round-robin, 2 nodes x 1 slot")]
    public async Task<int> TaskDispatcherFcfsRoundRobin()
    {
        for (var i = 0; i < TaskCount; i++)
        {
            _handles[i] = Work == WorkKind.NoOp
                ? await _dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1)).ConfigureAwait(false)
                : await _dispatcher.SubmitAsync(static _ => YieldOnceAsync()).ConfigureAwait(false);
        }

        var sum = 0;
        foreach (var handle in _handles)
        {
            sum += await handle;
        }

        return sum;
    }

    private static async ValueTask<int> YieldOnceAsync()
    {
        await Task.Yield();
        return 1;
    }
}
