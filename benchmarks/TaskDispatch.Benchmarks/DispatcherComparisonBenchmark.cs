using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// The frame of the end-to-end comparisons: <see cref="TaskCount"/> no-op tasks submitted to and awaited from a
/// dispatcher built by each derived benchmark's setup, beside the hand-rolled <see cref="HandRolledChannelLoop"/>
/// measured in the same class and run.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public abstract class DispatcherComparisonBenchmark
{
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);

    private TaskDispatcher? _dispatcher;
    private TaskHandle<int>[] _handles = [];
    private HandRolledChannelLoop? _channel;
    private Task<int>[] _results = [];

    /// <summary>Tasks per operation.</summary>
    [Params(10_000)]
    public int TaskCount { get; set; }

    /// <summary>The channel loop's consumers: as many as the dispatcher's slots.</summary>
    protected abstract int Consumers { get; }

    [GlobalSetup(Target = nameof(HandRolledChannel))]
    public void SetupHandRolledChannel()
    {
        _channel = new HandRolledChannelLoop(Consumers);
        _results = new Task<int>[TaskCount];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _channel?.Dispose();
        _channel = null;
        _dispatcher?.Dispose();
        _dispatcher = null;
    }

    [Benchmark(Description = "Hand-rolled Channel<T> loop")]
    public Task<int> HandRolledChannel() => _channel!.RunAsync(static () => ValueTask.FromResult(1), _results);

    /// <summary>Makes <paramref name="dispatcher"/> the one the benchmark methods submit to.</summary>
    protected void Use(TaskDispatcher dispatcher)
    {
        _dispatcher = dispatcher;
        _handles = new TaskHandle<int>[TaskCount];
    }

    /// <summary>Submits <see cref="TaskCount"/> no-op tasks, with <paramref name="options"/>[i] if given, and awaits them all.</summary>
    protected Task<int> SubmitAndAwaitAllAsync(TaskOptions[]? options = null) =>
        DispatcherWorkload.SubmitAndAwaitAllAsync(_dispatcher!, s_noOp, _handles, options);
}
