using System.Diagnostics.Metrics;

namespace TaskDispatch.Tests.Support;

/// <summary>Collects the TaskDispatch meter's measurements for one dispatcher (by its name tag), so tests running
/// side by side do not see each other's.</summary>
public sealed class MeterCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<Measurement> _measurements = [];
    private readonly string _dispatcherName;

    public MeterCollector(string dispatcherName)
    {
        _dispatcherName = dispatcherName;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TaskDispatchMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public IReadOnlyList<Measurement> Measurements
    {
        get
        {
            lock (_measurements)
            {
                return [.. _measurements];
            }
        }
    }

    /// <summary>Polls the observable instruments now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    public IEnumerable<Measurement> Of(string instrument) => Measurements.Where(m => m.Instrument == instrument);

    public double Sum(string instrument) => Of(instrument).Sum(static m => m.Value);

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        if (!Equals(map.GetValueOrDefault(TaskDispatchMetrics.DispatcherTag), _dispatcherName))
        {
            return;
        }

        lock (_measurements)
        {
            _measurements.Add(new Measurement(instrument.Name, value, map));
        }
    }

    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);
}
