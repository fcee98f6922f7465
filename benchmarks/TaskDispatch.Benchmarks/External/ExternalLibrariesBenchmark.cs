using BenchmarkDotNet.Attributes;
using Coravel;
using Coravel.Queuing.Interfaces;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using CoravelQueue = Coravel.Queuing.Queue;

namespace TaskDispatch.Benchmarks.External;

/// <summary>
/// <see cref="JobCount"/> no-op jobs submitted and awaited in each system, with two worker slots wherever the system
/// has a setting for it, each configured for the lowest latency it offers: the hand-rolled channel loop, TaskDispatch,
/// Hangfire (in-memory storage), Quartz (in-memory store) and Coravel's queue.
/// </summary>
/// <remarks>
/// Each system is built in its own targeted setup and torn down in the cleanup, so no system's background threads
/// compete for the cores while another is measured. The external systems' jobs count down one shared
/// <see cref="CompletionCountdown"/>; the channel loop and TaskDispatch complete one result per job, as in
/// <see cref="DispatchThroughputBenchmark"/>. Every operation gives up after <see cref="s_operationTimeout"/> with an
/// exception instead of hanging the run.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
public class ExternalLibrariesBenchmark
{
    private const int WorkerSlots = 2;

    private static readonly TimeSpan s_operationTimeout = TimeSpan.FromSeconds(60);
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);

    private readonly CompletionCountdown _countdown = new();

    private HandRolledChannelLoop? _channel;
    private Task<int>[] _channelResults = [];

    private TaskDispatcher? _dispatcher;
    private TaskHandle<int>[] _handles = [];

    private HangfireHost? _hangfire;
    private QuartzHost? _quartz;

    private ServiceProvider? _coravelServices;
    private IQueue? _coravelQueue;
    private CoravelQueue? _coravelConsumer;
    private Action? _signalCountdown;

    /// <summary>Jobs per operation.</summary>
    [Params(10_000)]
    public int JobCount { get; set; }

    [GlobalSetup(Target = nameof(HandRolledChannel))]
    public void SetupHandRolledChannel()
    {
        _channel = new HandRolledChannelLoop(WorkerSlots);
        _channelResults = new Task<int>[JobCount];
    }

    [GlobalSetup(Target = nameof(TaskDispatchFcfs))]
    public void SetupTaskDispatch()
    {
        _dispatcher = new TaskDispatcherBuilder()
            .Configure(options => options.MaxPendingTasks = JobCount)
            .AddNode("a", node => node.WithConcurrency(1))
            .AddNode("b", node => node.WithConcurrency(1))
            .Build();
        _handles = new TaskHandle<int>[JobCount];
    }

    [GlobalSetup(Target = nameof(Hangfire))]
    public void SetupHangfire()
    {
        HangfireSignalJob.Countdown = _countdown;

        _hangfire = new HangfireHost(nameof(ExternalLibrariesBenchmark), WorkerSlots);
    }

    [GlobalSetup(Target = nameof(Quartz))]
    public async Task SetupQuartz()
    {
        _quartz = await QuartzHost.StartAsync(nameof(ExternalLibrariesBenchmark), WorkerSlots).ConfigureAwait(false);
        _quartz.Scheduler.Context[QuartzSignalJob.CountdownKey] = _countdown;
    }

    [GlobalSetup(Target = nameof(Coravel))]
    public void SetupCoravel()
    {
        // Coravel's hosted service (QueuingHost) drains the queue on a timer whose period is
        // Coravel:Queue:ConsummationDelay in whole seconds: 1 s is the least that repeats (0 makes the timer fire once),
        // so an operation would measure the wait for the next tick. The hosted service is therefore never started:
        // the benchmark drains the queue itself through Queue.ConsumeQueueAsync, the call each tick makes.
        var services = new ServiceCollection();
        services.AddQueue();
        _coravelServices = services.BuildServiceProvider();
        _coravelQueue = _coravelServices.GetRequiredService<IQueue>();
        _coravelConsumer = (CoravelQueue)_coravelQueue;
        // Coravel hands a failed job's exception to this handler and carries on: fail the operation instead.
        _coravelConsumer.OnError(_countdown.Fail);
        _signalCountdown = _countdown.Signal;
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _channel?.Dispose();
        _channel = null;

        _dispatcher?.Dispose();
        _dispatcher = null;

        _hangfire?.Dispose();
        _hangfire = null;
        HangfireSignalJob.Countdown = null;

        if (_quartz is not null)
        {
            await _quartz.DisposeAsync();
            _quartz = null;
        }

        if (_coravelServices is not null)
        {
            await _coravelServices.DisposeAsync();
            _coravelServices = null;
        }

        _coravelQueue = null;
        _coravelConsumer = null;
        _signalCountdown = null;
    }

    [Benchmark(Baseline = true, Description = "Hand-rolled Channel<T> loop, 2 consumers")]
    public Task<int> HandRolledChannel() =>
        _channel!.RunAsync(static () => ValueTask.FromResult(1), _channelResults).WaitAsync(s_operationTimeout);

    [Benchmark(Description = "TaskDispatch FCFS + round-robin, 2 nodes x 1 slot")]
    public Task<int> TaskDispatchFcfs() => SubmitToDispatcherAndAwaitAllAsync().WaitAsync(s_operationTimeout);

    [Benchmark(Description = "Hangfire, InMemory storage, 2 workers")]
    public Task Hangfire()
    {
        var client = _hangfire!.Client;
        _countdown.Reset(JobCount);
        for (var i = 0; i < JobCount; i++)
        {
            client.Enqueue(() => HangfireSignalJob.Signal());
        }

        return _countdown.WaitAsync(nameof(Hangfire), s_operationTimeout);
    }

    [Benchmark(Description = "Quartz, in-memory store, 2 threads")]
    public async Task Quartz()
    {
        _countdown.Reset(JobCount);

        // One batch, so the scheduler stores all of them under one lock and wakes its thread once.
        var jobs = new Dictionary<IJobDetail, IReadOnlyCollection<ITrigger>>(JobCount);
        for (var i = 0; i < JobCount; i++)
        {
            jobs.Add(JobBuilder.Create<QuartzSignalJob>().Build(), [TriggerBuilder.Create().StartNow().Build()]);
        }

        await _quartz!.Scheduler.ScheduleJobs(jobs).AsTask().WaitAsync(s_operationTimeout);
        await _countdown.WaitAsync(nameof(Quartz), s_operationTimeout);
    }

    [Benchmark(Description = "Coravel queue, drained by the benchmark")]
    public async Task Coravel()
    {
        var queue = _coravelQueue!;
        var signal = _signalCountdown!;
        _countdown.Reset(JobCount);
        for (var i = 0; i < JobCount; i++)
        {
            queue.QueueTask(signal);
        }

        // Runs every queued job and returns when all have finished. Coravel has no worker count: it starts every
        // dequeued job at once, so these synchronous jobs run one after another on this one consumer.
        await _coravelConsumer!.ConsumeQueueAsync().WaitAsync(s_operationTimeout);
        await _countdown.WaitAsync(nameof(Coravel), s_operationTimeout);
    }

    private async Task<int> SubmitToDispatcherAndAwaitAllAsync()
    {
        var dispatcher = _dispatcher!;
        for (var i = 0; i < JobCount; i++)
        {
            _handles[i] = await dispatcher.SubmitAsync(s_noOp);
        }

        var sum = 0;
        foreach (var handle in _handles)
        {
            sum += await handle;
        }

        return sum;
    }
}
