using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>Tasks that name the node they must run on (<see cref="TaskOptions.RequiredNode"/>), as a cluster member's
/// leased tasks do: 20,000 no-op tasks on two nodes of 4 slots, all pinned to one node while the other idles, pinned to
/// each node in turn, or not pinned at all (the baseline). A pinned task that finds its node full waits in the scheduler
/// while the other node has free slots.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class PinnedTasksBenchmark
{
    private const int Tasks = 20_000;
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);

    private TaskDispatcher _dispatcher = null!;
    private TaskHandle<int>[] _handles = [];
    private TaskOptions[]? _options;

    /// <summary>Where the tasks must run: "one node", "each node in turn" or "anywhere".</summary>
    [Params("one node", "each node in turn", "anywhere")]
    public string Pinned { get; set; } = "one node";

    [GlobalSetup]
    public void Setup()
    {
        _dispatcher = new TaskDispatcherBuilder()
            .Configure(static options => options.MaxPendingTasks = Tasks)
            .AddNode("a", static node => node.WithConcurrency(4))
            .AddNode("b", static node => node.WithConcurrency(4))
            .Build();
        _handles = new TaskHandle<int>[Tasks];
        _options = Pinned switch
        {
            "one node" => [new TaskOptions { RequiredNode = "a" }],
            "each node in turn" => [new TaskOptions { RequiredNode = "a" }, new TaskOptions { RequiredNode = "b" }],
            _ => null,
        };
    }

    [GlobalCleanup]
    public void Cleanup() => _dispatcher.Dispose();

    [Benchmark(Description = "20,000 no-op tasks, two nodes of 4 slots")]
    public Task<int> SubmitAndAwaitAll() => DispatcherWorkload.SubmitAndAwaitAllAsync(_dispatcher, s_noOp, _handles, _options);
}
