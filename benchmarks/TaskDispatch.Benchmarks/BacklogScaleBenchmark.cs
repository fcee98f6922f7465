using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>How the cost per task grows with the backlog: <see cref="Backlog"/> no-op tasks queued behind a blocked
/// slot, then released and awaited. Divide the time by the backlog for the cost per task; it should stay flat (FCFS) or
/// grow with the logarithm of the backlog (priority's heap).</summary>
[MemoryDiagnoser]
[MedianColumn]
public class BacklogScaleBenchmark
{
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);
    private static readonly TaskOptions[] s_priorities = [.. Enumerable.Range(0, 8).Select(static p => new TaskOptions { Priority = p })];

    private TaskDispatcher _dispatcher = null!;
    private TaskHandle<int>[] _handles = [];

    /// <summary>Tasks queued before any runs.</summary>
    [Params(1_000, 100_000, 1_000_000)]
    public int Backlog { get; set; }

    /// <summary>The scheduling policy.</summary>
    [Params("FCFS", "Priority")]
    public string Policy { get; set; } = "FCFS";

    [GlobalSetup]
    public void Setup()
    {
        _dispatcher = new TaskDispatcherBuilder()
            .UseScheduling(Policy == "Priority" ? SchedulingPolicy.Priority() : SchedulingPolicy.FirstComeFirstServed())
            .Configure(options => options.MaxPendingTasks = Backlog + 1)
            .AddNode("only", static node => node.WithConcurrency(1))
            .Build();
        _handles = new TaskHandle<int>[Backlog];
    }

    [GlobalCleanup]
    public void Cleanup() => _dispatcher.Dispose();

    [Benchmark(Description = "Queue the backlog behind a blocked slot, release, await all")]
    public async Task<int> DrainBacklog()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = await _dispatcher.SubmitAsync(async _ =>
        {
            await gate.Task.ConfigureAwait(false);
            return 0;
        }).ConfigureAwait(false);
        var prioritized = Policy == "Priority";
        for (var i = 0; i < _handles.Length; i++)
        {
            _handles[i] = await _dispatcher.SubmitAsync(s_noOp, prioritized ? s_priorities[i & 7] : null).ConfigureAwait(false);
        }

        gate.SetResult();
        var sum = await blocker;
        foreach (var handle in _handles)
        {
            sum += await handle;
        }

        return sum;
    }
}
