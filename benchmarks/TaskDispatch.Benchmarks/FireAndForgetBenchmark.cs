using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// Fire and forget, as a user fires background work: <see cref="TaskCount"/> tasks submitted at once by one producer,
/// no handle kept, the operation ending when the last has run. The baseline is <see cref="Task.Run(Action)"/> per item on
/// the thread pool; TaskDispatch posts to one node with a slot per core.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class FireAndForgetBenchmark
{
    private TaskDispatcher? _dispatcher;
    private Countdown _countdown = null!;
    private Action _threadPoolWork = null!;
    private Func<TaskContext, ValueTask> _dispatcherWork = null!;

    /// <summary>Tasks per operation.</summary>
    [Params(1_000_000)]
    public int TaskCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _countdown = new Countdown();
        var countdown = _countdown;
        _threadPoolWork = countdown.Signal;
        _dispatcherWork = _ =>
        {
            countdown.Signal();
            return ValueTask.CompletedTask;
        };
        _dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = TaskCount)
            .AddNode("a", node => node.WithConcurrency(Environment.ProcessorCount))
            .Build();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dispatcher?.Dispose();
        _dispatcher = null;
    }

    [Benchmark(Baseline = true, Description = "Task.Run per item, discarded")]
    public Task TaskRunPerItem()
    {
        var done = _countdown.Reset(TaskCount);
        for (var i = 0; i < TaskCount; i++)
        {
            _ = Task.Run(_threadPoolWork);
        }

        return done;
    }

    [Benchmark(Description = "TaskDispatch Post, FCFS")]
    public Task TaskDispatchPost()
    {
        var done = _countdown.Reset(TaskCount);
        for (var i = 0; i < TaskCount; i++)
        {
            if (!_dispatcher!.Post(_dispatcherWork))
            {
                throw new InvalidOperationException("The dispatcher refused a task.");
            }
        }

        return done;
    }

    /// <summary>Completes a task when the last of a known number of items has signalled.</summary>
    private sealed class Countdown
    {
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining;

        public Task Reset(int count)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _remaining, count);
            return _done.Task;
        }

        public void Signal()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.TrySetResult();
            }
        }
    }
}
