using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>Cancelling tasks that wait for a busy node: <see cref="Tasks"/> no-op tasks are submitted pinned to node "a",
/// whose one slot a task that never ends holds, while node "b" idles; once all of them wait (a marker task pinned to "b",
/// submitted last, has run), every one is cancelled, in submission order, and awaited. A dispatcher stopped with
/// <see cref="ShutdownMode.Cancel"/> does the same to what waits. The cost per task should not grow with the count.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class CancelParkedBenchmark
{
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);
    private static readonly TaskOptions s_onA = new() { RequiredNode = "a" };
    private static readonly TaskOptions s_onB = new() { RequiredNode = "b" };

    private TaskDispatcher _dispatcher = null!;
    private TaskCompletionSource _release = null!;
    private TaskHandle<int>[] _handles = [];

    /// <summary>How many tasks wait and are cancelled.</summary>
    [Params(20_000, 80_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = Tasks + 2)
            .AddNode("a", static node => node.WithConcurrency(1))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = _release.Task;
        var blocker = _dispatcher.SubmitAsync(async _ => { await release.ConfigureAwait(false); return 0; }, s_onA).AsTask().GetAwaiter().GetResult();
        while (blocker.State != TaskState.Running)
        {
            Thread.Yield();
        }

        _handles = new TaskHandle<int>[Tasks];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _release.TrySetResult();
        _dispatcher.Dispose();
    }

    [Benchmark(Description = "submit to a busy node, cancel all, await all")]
    public async Task<int> SubmitCancelAndAwaitAll()
    {
        for (var i = 0; i < _handles.Length; i++)
        {
            _handles[i] = await _dispatcher.SubmitAsync(s_noOp, s_onA).ConfigureAwait(false);
        }

        // First in, first out: once the marker ran, every task before it was taken out of the queue and waits for "a".
        await await _dispatcher.SubmitAsync(s_noOp, s_onB).ConfigureAwait(false);
        foreach (var handle in _handles)
        {
            handle.Cancel();
        }

        var cancelled = 0;
        foreach (var handle in _handles)
        {
            try
            {
                await handle;
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }
        }

        return cancelled == _handles.Length ? cancelled : throw new InvalidOperationException($"{_handles.Length - cancelled} tasks were not cancelled.");
    }
}
