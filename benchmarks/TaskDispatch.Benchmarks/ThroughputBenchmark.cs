using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// Throughput, end to end: <see cref="TaskCount"/> tasks submitted and awaited, with <see cref="Slots"/> workers
/// everywhere, side by side in one run: a bare <see cref="System.Threading.Channels.Channel{T}"/> with consumer loops
/// (the physical limit), the hand-rolled channel loop completing a <see cref="TaskCompletionSource{TResult}"/> per item
/// (the baseline: what users write by hand), TPL Dataflow's <c>ActionBlock</c> with completions, a lock around a
/// <see cref="PriorityQueue{TElement, TPriority}"/> with completions (the hand-written priority loop), and TaskDispatch with
/// several policies and strategies over two nodes of <see cref="Slots"/>/2 slots each.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ThroughputBenchmark
{
    private static readonly TaskOptions[] s_priorities = [.. Enumerable.Range(0, 4).Select(static p => new TaskOptions { Priority = p })];
    private static readonly TaskOptions[] s_estimates = [.. Enumerable.Range(1, 4).Select(static d => new TaskOptions { EstimatedDuration = TimeSpan.FromMilliseconds(d) })];

    private BareChannelLoop? _bare;
    private HandRolledChannelLoop? _handRolled;
    private DataflowLoop? _dataflow;
    private LockedPriorityQueueLoop? _lockedPriority;
    private TaskDispatcher? _dispatcher;
    private Task<int>[] _results = [];
    private TaskHandle<int>[] _handles = [];
    private Func<ValueTask<int>> _plainWork = null!;
    private Func<int> _synchronousWork = null!;
    private Func<TaskContext, ValueTask<int>> _dispatcherWork = null!;

    /// <summary>Tasks per operation.</summary>
    [Params(100_000)]
    public int TaskCount { get; set; }

    /// <summary>Workers: consumer loops, degree of parallelism, or node slots in all.</summary>
    [Params(2, 8)]
    public int Slots { get; set; }

    /// <summary>What each task does.</summary>
    [Params(WorkKind.NoOp, WorkKind.OneMicrosecond)]
    public WorkKind Work { get; set; }

    [GlobalSetup(Target = nameof(BareChannel))]
    public void SetupBareChannel() => _bare = new BareChannelLoop(Slots);

    [GlobalSetup(Target = nameof(HandRolledChannel))]
    public void SetupHandRolledChannel()
    {
        _handRolled = new HandRolledChannelLoop(Slots);
        _results = new Task<int>[TaskCount];
        _plainWork = Benchmarks.Work.Plain(Work);
    }

    [GlobalSetup(Target = nameof(TaskRunPerItem))]
    public void SetupTaskRunPerItem()
    {
        _results = new Task<int>[TaskCount];
        var work = Benchmarks.Work.Plain(Work);
        _synchronousWork = () =>
        {
            var result = work();
            return result.IsCompletedSuccessfully ? result.Result : result.AsTask().GetAwaiter().GetResult();
        };
    }

    [GlobalSetup(Target = nameof(TaskDispatchRunAsync))]
    public void SetupRunAsync() => Build(null, null);

    [GlobalSetup(Target = nameof(Dataflow))]
    public void SetupDataflow()
    {
        _dataflow = new DataflowLoop(Slots);
        _results = new Task<int>[TaskCount];
        _plainWork = Benchmarks.Work.Plain(Work);
    }

    [GlobalSetup(Target = nameof(LockedPriorityQueue))]
    public void SetupLockedPriorityQueue()
    {
        _lockedPriority = new LockedPriorityQueueLoop(Slots);
        _results = new Task<int>[TaskCount];
        _plainWork = Benchmarks.Work.Plain(Work);
    }

    [GlobalSetup(Target = nameof(TaskDispatchFcfsRoundRobin))]
    public void SetupFcfs() => Build(null, null);

    [GlobalSetup(Target = nameof(TaskDispatchPriority))]
    public void SetupPriority() => Build(SchedulingPolicy.Priority(), null);

    [GlobalSetup(Target = nameof(TaskDispatchShortestJobFirst))]
    public void SetupShortestJobFirst() => Build(SchedulingPolicy.ShortestJobFirst(), null);

    [GlobalSetup(Target = nameof(TaskDispatchWeightedRandom))]
    public void SetupWeightedRandom() => Build(null, AllocationStrategy.WeightedRandom(new Random(42)));

    [GlobalSetup(Target = nameof(TaskDispatchPowerOfTwoChoices))]
    public void SetupPowerOfTwoChoices() => Build(null, AllocationStrategy.PowerOfTwoChoices(new Random(42)));

    [GlobalCleanup]
    public void Cleanup()
    {
        _bare?.Dispose();
        _handRolled?.Dispose();
        _dataflow?.Dispose();
        _lockedPriority?.Dispose();
        _dispatcher?.Dispose();
        (_bare, _handRolled, _dataflow, _lockedPriority, _dispatcher) = (null, null, null, null, null);
    }

    [Benchmark(Description = "Bare Channel<T>, K consumers, no completions")]
    public Task BareChannel() => _bare!.RunAsync(Benchmarks.Work.Plain(Work), TaskCount);

    [Benchmark(Baseline = true, Description = "Hand-rolled Channel<T> + TCS per item")]
    public Task<int> HandRolledChannel() => _handRolled!.RunAsync(_plainWork, _results);

    [Benchmark(Description = "Task.Run per item")]
    public Task<int> TaskRunPerItem()
    {
        for (var i = 0; i < _results.Length; i++)
        {
            _results[i] = Task.Run(_synchronousWork);
        }

        return CompletionItem.SumAsync(_results);
    }

    [Benchmark(Description = "Dataflow ActionBlock + TCS per item")]
    public Task<int> Dataflow() => _dataflow!.RunAsync(_plainWork, _results);

    [Benchmark(Description = "lock + PriorityQueue + TCS per item")]
    public Task<int> LockedPriorityQueue() => _lockedPriority!.RunAsync(_plainWork, _results);

    [Benchmark(Description = "TaskDispatch FCFS + round-robin")]
    public Task<int> TaskDispatchFcfsRoundRobin() => SubmitAndAwaitAllAsync(null);

    [Benchmark(Description = "TaskDispatch RunAsync, FCFS + round-robin")]
    public Task<int> TaskDispatchRunAsync() => DispatcherWorkload.RunAllAsync(_dispatcher!, _dispatcherWork, TaskCount);

    [Benchmark(Description = "TaskDispatch priority + round-robin")]
    public Task<int> TaskDispatchPriority() => SubmitAndAwaitAllAsync(s_priorities);

    [Benchmark(Description = "TaskDispatch SJF + round-robin")]
    public Task<int> TaskDispatchShortestJobFirst() => SubmitAndAwaitAllAsync(s_estimates);

    [Benchmark(Description = "TaskDispatch FCFS + weighted random")]
    public Task<int> TaskDispatchWeightedRandom() => SubmitAndAwaitAllAsync(null);

    [Benchmark(Description = "TaskDispatch FCFS + power of two choices")]
    public Task<int> TaskDispatchPowerOfTwoChoices() => SubmitAndAwaitAllAsync(null);

    private void Build(ISchedulingPolicy? scheduling, IAllocationStrategy? allocation)
    {
        var builder = new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = TaskCount)
            .AddNode("a", node => node.WithConcurrency(Math.Max(1, Slots / 2)).WithWeight(1))
            .AddNode("b", node => node.WithConcurrency(Math.Max(1, Slots / 2)).WithWeight(2));
        if (allocation is not null)
        {
            builder.UseAllocation(allocation);
        }

        if (scheduling is not null)
        {
            builder.UseScheduling(scheduling);
        }

        _dispatcher = builder.Build();
        _handles = new TaskHandle<int>[TaskCount];
        _dispatcherWork = Benchmarks.Work.ForDispatcher(Work);
    }

    private Task<int> SubmitAndAwaitAllAsync(TaskOptions[]? options) =>
        DispatcherWorkload.SubmitAndAwaitAllAsync(_dispatcher!, _dispatcherWork, _handles, options);
}
