using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;

namespace TaskDispatch.Benchmarks;

/// <summary>What measuring costs: the same no-op workload with the snapshot timings off, on (the default), with a
/// <see cref="MeterListener"/> taking every measurement of the <c>TaskDispatch</c> meter, and with tracing sampled too.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class MetricsOverheadBenchmark
{
    private static readonly Func<TaskContext, ValueTask<int>> s_noOp = static _ => ValueTask.FromResult(1);

    private TaskDispatcher _dispatcher = null!;
    private TaskHandle<int>[] _handles = [];
    private MeterListener? _meterListener;
    private ActivityListener? _activityListener;
    private long _measurements;

    /// <summary>Tasks per operation.</summary>
    [Params(100_000)]
    public int TaskCount { get; set; }

    [GlobalSetup(Target = nameof(TimingsOff))]
    public void SetupTimingsOff() => Build(measureTimings: false);

    [GlobalSetup(Target = nameof(TimingsOn))]
    public void SetupTimingsOn() => Build(measureTimings: true);

    [GlobalSetup(Target = nameof(TimingsAndMeterListener))]
    public void SetupMeterListener()
    {
        Build(measureTimings: true);
        _meterListener = new MeterListener
        {
            InstrumentPublished = static (instrument, listener) =>
            {
                if (instrument.Meter.Name == TaskDispatchMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };

        // Counts measurements, as an exporter's aggregation would do something per measurement.
        _meterListener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meterListener.Start();
    }

    [GlobalSetup(Target = nameof(TimingsMetersAndTracing))]
    public void SetupTracing()
    {
        SetupMeterListener();
        _activityListener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == TaskDispatchTracing.SourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_activityListener);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dispatcher.Dispose();
        _meterListener?.Dispose();
        _activityListener?.Dispose();
        (_meterListener, _activityListener) = (null, null);
    }

    [Benchmark(Baseline = true, Description = "MeasureTimings off, no listener")]
    public Task<int> TimingsOff() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "MeasureTimings on (default), no listener")]
    public Task<int> TimingsOn() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "MeasureTimings on + MeterListener on every instrument")]
    public Task<int> TimingsAndMeterListener() => SubmitAndAwaitAllAsync();

    [Benchmark(Description = "... + every task and attempt traced")]
    public Task<int> TimingsMetersAndTracing() => SubmitAndAwaitAllAsync();

    private void Build(bool measureTimings)
    {
        _dispatcher = new TaskDispatcherBuilder($"metrics-overhead-{measureTimings}")
            .Configure(options =>
            {
                options.MaxPendingTasks = TaskCount;
                options.MeasureTimings = measureTimings;
            })
            .AddNode("a", static node => node.WithConcurrency(1))
            .AddNode("b", static node => node.WithConcurrency(1))
            .Build();
        _handles = new TaskHandle<int>[TaskCount];
    }

    private Task<int> SubmitAndAwaitAllAsync() => DispatcherWorkload.SubmitAndAwaitAllAsync(_dispatcher, s_noOp, _handles);
}
