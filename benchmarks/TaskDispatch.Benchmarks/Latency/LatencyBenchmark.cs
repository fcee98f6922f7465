using System.Diagnostics;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using BenchmarkDotNet.Attributes;
using Coravel;
using Coravel.Queuing.Interfaces;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using TaskDispatch.Benchmarks.External;
using CoravelQueue = Coravel.Queuing.Queue;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// Latency under an open-loop load: tasks arrive at a fixed <see cref="Rate"/> whatever the system does (each is due at
/// its scheduled time, which is what its latency counts from, so a stall is not hidden), and each system runs them with
/// two workers. The columns give p50, p99 and max of submit-to-start and submit-to-done over every run of the process;
/// the measured time is just the length of a run.
/// </summary>
/// <remarks>
/// Hangfire, Quartz and Coravel are set up as in <see cref="External.ExternalLibrariesBenchmark"/>, for the lowest
/// latency each offers. None of them completes anything per job that a submitter could await, so for them, as for
/// <see cref="LatencySystem.BareChannel"/>, start is when the job body begins and done is when it returns. Every
/// system runs one task before the first run, so that its start-up (Hangfire's server starting its workers, Quartz's
/// scheduler thread, first calls being compiled) is not counted as the first tasks' latency.
/// </remarks>
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

    private HangfireHost? _hangfire;
    private QuartzHost? _quartz;

    private ServiceProvider? _coravelServices;
    private IQueue? _coravelQueue;
    private CancellationTokenSource? _coravelStop;
    private Task? _coravelDrain;

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
    public async Task Setup()
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
            case LatencySystem.Hangfire:
                SetupHangfire();
                break;
            case LatencySystem.Quartz:
                await SetupQuartzAsync().ConfigureAwait(false);
                break;
            case LatencySystem.Coravel:
                SetupCoravel();
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

        // One task through the system before the first run (see the remarks); RunAsync overwrites what it recorded.
        _remaining.Reset(1);
        await SubmitAsync(0).ConfigureAwait(false);
        if (!await Task.Run(() => _remaining.Wait(TimeSpan.FromSeconds(60))).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"{System} did not run its first task within 60 s.");
        }
    }

    private void SetupHangfire()
    {
        LatencyJobs.Current = this;

        _hangfire = new HangfireHost(nameof(LatencyBenchmark), Workers);
    }

    private async Task SetupQuartzAsync()
    {
        LatencyJobs.Current = this;

        _quartz = await QuartzHost.StartAsync(nameof(LatencyBenchmark), Workers).ConfigureAwait(false);
    }

    private void SetupCoravel()
    {
        // Coravel's hosted consumer (QueuingHost) drains the queue on a timer of whole seconds, 1 s at the least, so
        // with it a task would wait for the next tick: up to a second. It is never started; instead a loop of the
        // benchmark's own calls Queue.ConsumeQueueAsync, the call each tick makes, over and over. Between drains it
        // pauses 1 ms (about what Task.Delay can wait here) rather than yielding: a loop that only yields would keep
        // one of the machine's two cores busy polling an empty queue while the submitter spins on the other, and would
        // measure that contention rather than Coravel. So a task waits up to about 1 ms for the next drain, and a
        // drain runs the tasks it dequeued one after another (Coravel has no worker count).
        var services = new ServiceCollection();
        services.AddQueue();
        _coravelServices = services.BuildServiceProvider();
        _coravelQueue = _coravelServices.GetRequiredService<IQueue>();
        var consumer = (CoravelQueue)_coravelQueue;
        _coravelStop = new CancellationTokenSource();
        var stop = _coravelStop.Token;
        _coravelDrain = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await consumer.ConsumeQueueAsync().ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(1), stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        });
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _channel?.Writer.TryComplete();
        Task.WaitAll(_consumers);
        _block?.Complete();
        _block?.Completion.Wait();
        _dispatcher?.Dispose();

        _hangfire?.Dispose();
        if (_quartz is not null)
        {
            await _quartz.DisposeAsync().ConfigureAwait(false);
        }

        if (_coravelStop is not null)
        {
            await _coravelStop.CancelAsync().ConfigureAwait(false);
            await _coravelDrain!.ConfigureAwait(false);
            _coravelStop.Dispose();
        }

        if (_coravelServices is not null)
        {
            await _coravelServices.DisposeAsync().ConfigureAwait(false);
        }

        LatencyJobs.Current = null;
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
            case LatencySystem.Hangfire:
                _hangfire!.Client.Enqueue(() => LatencyJobs.Run(index));
                break;
            case LatencySystem.Quartz:
                var job = JobBuilder.Create<LatencyQuartzJob>().UsingJobData(LatencyQuartzJob.IndexKey, index).Build();
                await _quartz!.Scheduler.ScheduleJob(job, TriggerBuilder.Create().StartNow().Build()).ConfigureAwait(false);
                break;
            case LatencySystem.Coravel:
                _coravelQueue!.QueueTask(() => RunJob(index));
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

    /// <summary>The job body of the systems with no per-job completion: done is when it returns.</summary>
    internal void RunJob(int index)
    {
        _started[index] = Stopwatch.GetTimestamp();
        MarkDone(index);
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
