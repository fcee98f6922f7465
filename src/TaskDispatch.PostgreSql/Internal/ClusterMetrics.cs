using System.Diagnostics.Metrics;

namespace TaskDispatch;

/// <summary>The cluster's instruments, on the meter <c>TaskDispatch.PostgreSql</c>, tagged with the cluster's name.</summary>
internal sealed class ClusterMetrics : IDisposable
{
    private readonly Meter _meter = new("TaskDispatch.PostgreSql");
    private readonly KeyValuePair<string, object?> _cluster;
    private readonly Counter<long> _leased;
    private readonly Counter<long> _acknowledged;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _recovered;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _pruned;
    private readonly Histogram<double> _recoveryTime;
    private long _refusedTotal;
    private long _recoveredTotal;

    internal ClusterMetrics(string cluster)
    {
        _cluster = new("taskdispatch.cluster", cluster);
        _leased = _meter.CreateCounter<long>("taskdispatch.cluster.leased", "{task}", "Tasks leased by this member's nodes.");
        _acknowledged = _meter.CreateCounter<long>("taskdispatch.cluster.acknowledged", "{task}", "Task ends this member wrote and the store accepted.");
        _refused = _meter.CreateCounter<long>("taskdispatch.cluster.refused_writes", "{write}", "Late acknowledgements and checkpoints refused because the lease had moved on.");
        _recovered = _meter.CreateCounter<long>("taskdispatch.cluster.recovered", "{task}", "Tasks taken back from dead or paused nodes by this member.");
        _deadLettered = _meter.CreateCounter<long>("taskdispatch.cluster.dead_lettered", "{task}", "Tasks dead-lettered after too many interrupted deliveries.");
        _pruned = _meter.CreateCounter<long>("taskdispatch.cluster.pruned", "{task}", "Ended tasks this member removed once their outcome retention ran out.");
        _recoveryTime = _meter.CreateHistogram<double>(
            "taskdispatch.cluster.recovery_time", "s", "From a dead node's last lease renewal to its task being placed again.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300] });
    }

    internal long RefusedTotal => Interlocked.Read(ref _refusedTotal);

    internal long RecoveredTotal => Interlocked.Read(ref _recoveredTotal);

    internal void Leased(int count) => _leased.Add(count, _cluster);

    internal void Acknowledged(int count) => _acknowledged.Add(count, _cluster);

    internal void Refused(int count)
    {
        Interlocked.Add(ref _refusedTotal, count);
        _refused.Add(count, _cluster);
    }

    internal void Recovered(TimeSpan recoveryTime)
    {
        Interlocked.Increment(ref _recoveredTotal);
        _recovered.Add(1, _cluster);
        _recoveryTime.Record(recoveryTime.TotalSeconds, _cluster);
    }

    internal void DeadLettered() => _deadLettered.Add(1, _cluster);

    internal void Pruned(long count) => _pruned.Add(count, _cluster);

    public void Dispose() => _meter.Dispose();
}
