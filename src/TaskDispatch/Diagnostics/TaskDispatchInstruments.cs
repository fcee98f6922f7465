using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace TaskDispatch;

/// <summary>The instruments of one meter named <see cref="TaskDispatchMetrics.MeterName"/>: the counters and histograms
/// dispatchers record into, and the observable gauges that read the dispatchers registered with it. One set per meter:
/// the static meter for dispatchers built without a service provider, and the meter an <see cref="IMeterFactory"/>
/// creates for dispatchers in a container, so that a host or a test that owns the factory sees only its own.</summary>
internal sealed class TaskDispatchInstruments
{
    private static readonly ConditionalWeakTable<Meter, TaskDispatchInstruments> s_byMeter = [];

    /// <summary>Bucket advice for every duration: from 10 µs to 10 min, about three buckets per decade, so that a no-op
    /// task's microseconds, a web call's milliseconds and a report's minutes each land in buckets of their own (a
    /// listener's defaults put everything from 1 to 50 ms into one bucket).</summary>
    private static readonly InstrumentAdvice<double> s_durationAdvice = new()
    {
        HistogramBucketBoundaries =
        [
            0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            1, 2.5, 5, 10, 30, 60, 120, 300, 600,
        ],
    };

    /// <summary>The dispatchers running now that record here, for the observable instruments.</summary>
    private readonly ConcurrentDictionary<TaskDispatcher, byte> _dispatchers = new();

    private TaskDispatchInstruments(Meter meter)
    {
        AttemptFailureCounter = meter.CreateCounter<long>(TaskDispatchMetrics.AttemptFailures, "{attempt}", "Failed attempts.");
        AbandonedCounter = meter.CreateCounter<long>(TaskDispatchMetrics.AttemptsAbandoned, "{attempt}", "Attempts given up by the engine after a node fault.");
        RestartCounter = meter.CreateCounter<long>(TaskDispatchMetrics.Restarts, "{restart}", "Failed attempts that were retried.");
        RestartDelayHistogram = meter.CreateHistogram<double>(TaskDispatchMetrics.RestartDelay, "s", "Time from a failed attempt to the start of the next attempt.", tags: null, s_durationAdvice);
        RecoveryDurationHistogram = meter.CreateHistogram<double>(TaskDispatchMetrics.RecoveryDuration, "s", "Time from a task's first failure to its completion.", tags: null, s_durationAdvice);
        QuarantineCounter = meter.CreateCounter<long>(TaskDispatchMetrics.NodeQuarantines, "{quarantine}", "Times a node's circuit breaker quarantined it.");
        DeadLetterCounter = meter.CreateCounter<long>(TaskDispatchMetrics.DeadLetters, "{task}", "Tasks that ended failed.");
        LostTaskCounter = meter.CreateCounter<long>(TaskDispatchMetrics.LostTasks, "{task}", "Tasks never terminal when the dispatcher stopped.");
        WaitHistogram = meter.CreateHistogram<double>(TaskDispatchMetrics.WaitDuration, "s", "Time from submission to the start of the first attempt.", tags: null, s_durationAdvice);
        ResponseHistogram = meter.CreateHistogram<double>(TaskDispatchMetrics.ResponseDuration, "s", "Time from submission to the terminal state.", tags: null, s_durationAdvice);
        AttemptHistogram = meter.CreateHistogram<double>(TaskDispatchMetrics.AttemptDuration, "s", "Run time of each attempt.", tags: null, s_durationAdvice);
        AllocationHistogram = meter.CreateHistogram<double>(TaskDispatchMetrics.AllocationDuration, "s", "Time the allocation strategy took to choose a node.", tags: null, s_durationAdvice);
        SubmittedCounter = meter.CreateCounter<long>(TaskDispatchMetrics.TasksSubmitted, "{task}", "Tasks accepted.");
        RejectedCounter = meter.CreateCounter<long>(TaskDispatchMetrics.TasksRejected, "{task}", "Submissions refused because the dispatcher was full.");
        StartedCounter = meter.CreateCounter<long>(TaskDispatchMetrics.AttemptsStarted, "{attempt}", "Attempts started.");
        FinishedCounter = meter.CreateCounter<long>(TaskDispatchMetrics.TasksFinished, "{task}", "Tasks that reached a terminal state.");
        meter.CreateObservableUpDownCounter(TaskDispatchMetrics.QueueLength, ObserveQueueLengths, "{task}", "Tasks accepted and not running.");
        meter.CreateObservableUpDownCounter(TaskDispatchMetrics.SlotsInUse, ObserveSlotsInUse, "{slot}", "Node slots in use.");
        meter.CreateObservableUpDownCounter(TaskDispatchMetrics.SlotsCapacity, ObserveSlotsCapacity, "{slot}", "Node slots in all (each node's concurrency), beside the slots in use.");
        meter.CreateObservableGauge(TaskDispatchMetrics.NodeUtilization, ObserveUtilization, "1", "Busy slot-time over capacity-time since the node was added.");
    }

    /// <summary>Gets the instruments of the static meter.</summary>
    internal static TaskDispatchInstruments Shared { get; } = new(TaskDispatchMetrics.Meter);

    internal Counter<long> AttemptFailureCounter { get; }

    internal Counter<long> AbandonedCounter { get; }

    internal Counter<long> RestartCounter { get; }

    internal Histogram<double> RestartDelayHistogram { get; }

    internal Histogram<double> RecoveryDurationHistogram { get; }

    internal Counter<long> QuarantineCounter { get; }

    internal Counter<long> DeadLetterCounter { get; }

    internal Counter<long> LostTaskCounter { get; }

    internal Histogram<double> WaitHistogram { get; }

    internal Histogram<double> ResponseHistogram { get; }

    internal Histogram<double> AttemptHistogram { get; }

    internal Histogram<double> AllocationHistogram { get; }

    internal Counter<long> SubmittedCounter { get; }

    internal Counter<long> RejectedCounter { get; }

    internal Counter<long> StartedCounter { get; }

    internal Counter<long> FinishedCounter { get; }

    /// <summary>Gets the instruments of a meter created by an <see cref="IMeterFactory"/>, creating them once per meter
    /// (a factory hands out the same meter for the same name, so dispatchers in one container share one set).</summary>
    internal static TaskDispatchInstruments For(Meter meter) => s_byMeter.GetValue(meter, static created => new TaskDispatchInstruments(created));

    /// <summary>Chooses the instruments for a dispatcher: its container's <see cref="IMeterFactory"/> when it has one,
    /// the static meter otherwise.</summary>
    internal static TaskDispatchInstruments From(IServiceProvider? services) =>
        services?.GetService(typeof(IMeterFactory)) is IMeterFactory factory
            ? For(factory.Create(new MeterOptions(TaskDispatchMetrics.MeterName) { Version = TaskDispatchMetrics.Meter.Version }))
            : Shared;

    internal void Register(TaskDispatcher dispatcher) => _dispatchers.TryAdd(dispatcher, 0);

    internal void Unregister(TaskDispatcher dispatcher) => _dispatchers.TryRemove(dispatcher, out _);

    private IEnumerable<Measurement<long>> ObserveQueueLengths()
    {
        foreach (var dispatcher in _dispatchers.Keys)
        {
            yield return new Measurement<long>(dispatcher.WaitingTaskCount, TaskDispatchMetrics.Tags(dispatcher.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveSlotsCapacity()
    {
        foreach (var dispatcher in _dispatchers.Keys)
        {
            foreach (var node in dispatcher.Nodes)
            {
                yield return new Measurement<long>(node.MaxConcurrency, TaskDispatchMetrics.Tags(dispatcher.Name, node.Name));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveSlotsInUse()
    {
        foreach (var dispatcher in _dispatchers.Keys)
        {
            foreach (var node in dispatcher.Nodes)
            {
                yield return new Measurement<long>(node.ActiveTasks, TaskDispatchMetrics.Tags(dispatcher.Name, node.Name));
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveUtilization()
    {
        foreach (var dispatcher in _dispatchers.Keys)
        {
            foreach (var node in dispatcher.GetNodeStatistics(dispatcher.TimeProvider.GetUtcNow()))
            {
                yield return new Measurement<double>(node.Utilization, TaskDispatchMetrics.Tags(dispatcher.Name, node.Name));
            }
        }
    }
}
