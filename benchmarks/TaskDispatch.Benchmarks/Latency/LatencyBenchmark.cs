using System.Diagnostics;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// Latency under an open-loop load: tasks arrive at a fixed <see cref="Rate"/> whatever the system does (each is due at
/// its scheduled time, which is what its latency counts from, so a stall is not hidden), and each system runs them with
/// two workers. The columns give p50, p99 and max of submit-to-start and submit-to-done over every run of the process;
/// the measured time is just the length of a run.
/// </summary>
[Config(typeof(LatencyConfig))]
public class LatencyBenchmark
{
    private const int Workers = 2;
    private static readonly Dictionary<LatencySystem, LatencySamples> s_samples = [];

    private long[] _scheduled = [];
    private long[] _started = [];
    private long[] _done = [];
    private Channel<int>? _channel;
    private Task[] _consumers = [];
    private ActionBlock<Item>? _block;
    private TaskDispatcher? _dispatcher;
    private CountdownEvent _remaining = null!;

    /// <summary>Arrivals per second.</summary>
    [Params(10_000)]
    public int Rate { get; set; }

    /// <summary>Tasks per run.</summary>
    [Params(2_000)]
    public int Count { get; set; }

    /// <summary>The system under load.</summary>
    [ParamsAllValues]
    public LatencySystem System { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scheduled = new long[Count];
        _started = new long[Count];
        _done = new long[Count];
        _remaining = new CountdownEvent(Count);
        switch (System)
        {
            case LatencySystem.BareChannel:
            case LatencySystem.HandRolledChannel:
                _channel = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleWriter = true });
                _consumers = [.. Enumerable.Range(0, Workers).Select(_ => Task.Run(ConsumeAsync))];
                break;
            case LatencySystem.Dataflow:
                _block = new ActionBlock<Item>(item => Run(item.Index, item.Completion), new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Workers });
                break;
            default:
                _dispatcher = new TaskDispatcherBuilder()
                    .Configure(options => options.MaxPendingTasks = Count)
                    .AddNode("a", static node => node.WithConcurrency(1))
                    .AddNode("b", static node => node.WithConcurrency(1))
                    .Build();
                break;
        }

        lock (s_samples)
        {
            if (s_samples.TryAdd(System, new LatencySamples()))
            {
                LatencySamples.Clear(System);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _channel?.Writer.TryComplete();
        Task.WaitAll(_consumers);
        _block?.Complete();
        _block?.Completion.Wait();
        _dispatcher?.Dispose();
        s_samples[System].Save(System);
        _remaining.Dispose();
    }

    [Benchmark(Description = "Open-loop run")]
    public async Task RunAsync()
    {
        _remaining.Reset(Count);
        var interval = Stopwatch.Frequency / Rate;
        var origin = Stopwatch.GetTimestamp();
        for (var i = 0; i < Count; i++)
        {
            var due = origin + (i * interval);
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.SpinWait(20);
            }

            _scheduled[i] = due;
            await SubmitAsync(i).ConfigureAwait(false);
        }

        await Task.Run(() => _remaining.Wait(TimeSpan.FromSeconds(60))).ConfigureAwait(false);
        if (_remaining.CurrentCount != 0)
        {
            throw new InvalidOperationException($"{System} ran {Count - _remaining.CurrentCount} of {Count} tasks within 60 s.");
        }

        var toStart = new long[Count];
        var toDone = new long[Count];
        for (var i = 0; i < Count; i++)
        {
            toStart[i] = _started[i] - _scheduled[i];
            toDone[i] = _done[i] - _scheduled[i];
        }

        s_samples[System].Add(toStart, toDone);
    }

    private async ValueTask SubmitAsync(int index)
    {
        switch (System)
        {
            case LatencySystem.BareChannel:
                _channel!.Writer.TryWrite(index);
                break;
            case LatencySystem.HandRolledChannel:
                _channel!.Writer.TryWrite(index);
                break;
            case LatencySystem.Dataflow:
                var item = new Item(index);
                ObserveDone(item.Completion.Task, index);
                _block!.Post(item);
                break;
            default:
                var handle = await _dispatcher!.SubmitAsync(context =>
                {
                    _started[index] = Stopwatch.GetTimestamp();
                    return ValueTask.FromResult(index);
                }).ConfigureAwait(false);
                ObserveDone(handle.Completion, index);
                break;
        }
    }

    private async Task ConsumeAsync()
    {
        var reader = _channel!.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var index))
            {
                if (System == LatencySystem.BareChannel)
                {
                    _started[index] = Stopwatch.GetTimestamp();
                    MarkDone(index);
                }
                else
                {
                    // What the hand-rolled loop does per item: a completion the submitter awaits.
                    var completion = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
                    ObserveDone(completion.Task, index);
                    Run(index, completion);
                }
            }
        }
    }

    private void Run(int index, TaskCompletionSource<int> completion)
    {
        _started[index] = Stopwatch.GetTimestamp();
        completion.TrySetResult(index);
    }

    /// <summary>Records when an awaiting submitter would resume.</summary>
    private void ObserveDone(Task<int> completion, int index) =>
        completion.GetAwaiter().UnsafeOnCompleted(() => MarkDone(index));

    private void MarkDone(int index)
    {
        _done[index] = Stopwatch.GetTimestamp();
        _remaining.Signal();
    }

    private sealed class Item(int index)
    {
        public int Index { get; } = index;

        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
