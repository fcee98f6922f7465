using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>How the cost per task grows with the nodes: 100,000 no-op tasks over <see cref="Nodes"/> one-slot nodes,
/// placed by a strategy whose decision is O(1) (round-robin, power of two choices) or O(nodes) (least loaded).</summary>
[MemoryDiagnoser]
[MedianColumn]
public class NodeScaleBenchmark
{
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);

    private TaskDispatcher _dispatcher = null!;
    private TaskHandle<int>[] _handles = [];

    /// <summary>Nodes, one slot each.</summary>
    [Params(2, 16, 256)]
    public int Nodes { get; set; }

    /// <summary>The allocation strategy.</summary>
    [Params("RoundRobin", "PowerOfTwoChoices", "LeastLoaded")]
    public string Strategy { get; set; } = "RoundRobin";

    [GlobalSetup]
    public void Setup()
    {
        var builder = new TaskDispatcherBuilder()
            .UseAllocation(Strategy switch
            {
                "PowerOfTwoChoices" => AllocationStrategy.PowerOfTwoChoices(new Random(42)),
                "LeastLoaded" => AllocationStrategy.LeastLoaded(),
                _ => AllocationStrategy.RoundRobin(),
            })
            .Configure(static options => options.MaxPendingTasks = 100_000);
        for (var i = 0; i < Nodes; i++)
        {
            builder.AddNode($"n{i}", static node => node.WithConcurrency(1));
        }

        _dispatcher = builder.Build();
        _handles = new TaskHandle<int>[100_000];
    }

    [GlobalCleanup]
    public void Cleanup() => _dispatcher.Dispose();

    [Benchmark(Description = "100,000 no-op tasks")]
    public Task<int> SubmitAndAwaitAll() => DispatcherWorkload.SubmitAndAwaitAllAsync(_dispatcher, s_noOp, _handles);
}
