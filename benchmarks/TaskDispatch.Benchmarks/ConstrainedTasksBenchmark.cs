using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>Tasks that only some nodes may run: 20,000 no-op tasks on two nodes of 4 slots (and, with <see cref="Nodes"/>
/// at 100, 98 more nodes of one slot that the pinned tasks may not use), all pinned to one node
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

    /// <summary>How many nodes the dispatcher has: "a" and "b", and as many more idle ones of one slot as it takes.</summary>
    [Params(2, 100)]
    public int Nodes { get; set; } = 2;

    [GlobalSetup]
    public void Setup()
    {
        var builder = new TaskDispatcherBuilder()
            .Configure(static options => options.MaxPendingTasks = Tasks)
            .AddNode("a", static node => node.WithConcurrency(4).WithTags("gpu"))
            .AddNode("b", static node => node.WithConcurrency(4));
        for (var i = 2; i < Nodes; i++)
        {
            builder.AddNode($"idle-{i}", static node => node.WithConcurrency(1));
        }

        _dispatcher = builder.Build();
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
