using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>Tasks that only some nodes may run: 20,000 no-op tasks on two nodes of 4 slots, all pinned to one node
/// (<see cref="TaskOptions.RequiredNode"/>, as a cluster member's leased tasks are) while the other idles, needing a tag
/// only one node has, pinned to each node in turn, or free to run anywhere (the baseline). A task that finds the nodes
/// it may run on full waits in the scheduler while the other node has free slots.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class ConstrainedTasksBenchmark
{
    private const int Tasks = 20_000;
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);

    private TaskDispatcher _dispatcher = null!;
    private TaskHandle<int>[] _handles = [];
    private TaskOptions[]? _options;

    /// <summary>Where the tasks may run: "one node" (required), "a tag one node has", "each node in turn" (required) or
    /// "anywhere".</summary>
    [Params("one node", "a tag one node has", "each node in turn", "anywhere")]
    public string RunOn { get; set; } = "one node";

    [GlobalSetup]
    public void Setup()
    {
        _dispatcher = new TaskDispatcherBuilder()
            .Configure(static options => options.MaxPendingTasks = Tasks)
            .AddNode("a", static node => node.WithConcurrency(4).WithTags("gpu"))
            .AddNode("b", static node => node.WithConcurrency(4))
            .Build();
        _handles = new TaskHandle<int>[Tasks];
        _options = RunOn switch
        {
            "one node" => [new TaskOptions { RequiredNode = "a" }],
            "a tag one node has" => [new TaskOptions { RequiredTags = ["gpu"] }],
            "each node in turn" => [new TaskOptions { RequiredNode = "a" }, new TaskOptions { RequiredNode = "b" }],
            _ => null,
        };
    }

    [GlobalCleanup]
    public void Cleanup() => _dispatcher.Dispose();

    [Benchmark(Description = "20,000 no-op tasks, two nodes of 4 slots")]
    public Task<int> SubmitAndAwaitAll() => DispatcherWorkload.SubmitAndAwaitAllAsync(_dispatcher, s_noOp, _handles, _options);
}
