using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace TaskDispatch.Benchmarks;

/// <summary>The latencies one system showed in the open-loop runs of this process, in Stopwatch ticks, and their
/// percentiles. Saved to a file in the temp folder, so that the summary columns, which run in the host process, can
/// read what the benchmark process measured.</summary>
public sealed class LatencySamples
{
    private readonly List<long> _toStart = [];
    private readonly List<long> _toDone = [];

    /// <summary>Adds one run's latencies.</summary>
    internal void Add(long[] toStart, long[] toDone)
    {
        lock (_toStart)
        {
            _toStart.AddRange(toStart);
            _toDone.AddRange(toDone);
        }
    }

    /// <summary>Writes the percentiles for <paramref name="system"/> where <see cref="Load"/> finds them.</summary>
    internal void Save(LatencySystem system)
    {
        lock (_toStart)
        {
            var summary = new Summary(Percentiles(_toStart), Percentiles(_toDone), _toStart.Count);
            File.WriteAllText(PathOf(system), JsonSerializer.Serialize(summary));
        }
    }

    /// <summary>Forgets what an earlier process saved for <paramref name="system"/>.</summary>
    internal static void Clear(LatencySystem system) => File.Delete(PathOf(system));

    /// <summary>Reads what the benchmark process saved for <paramref name="system"/>, if anything.</summary>
    public static Summary? Load(LatencySystem system) =>
        File.Exists(PathOf(system)) ? JsonSerializer.Deserialize<Summary>(File.ReadAllText(PathOf(system))) : null;

    private static string PathOf(LatencySystem system) =>
        Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"taskdispatch-latency-{system}.json"));

    private static double[] Percentiles(List<long> ticks)
    {
        if (ticks.Count == 0)
        {
            return [0, 0, 0];
        }

        var sorted = ticks.ToArray();
        Array.Sort(sorted);
        double Microseconds(long value) => value * 1_000_000.0 / Stopwatch.Frequency;
        long At(double quantile) => sorted[Math.Max(0, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
        return [Microseconds(At(0.50)), Microseconds(At(0.99)), Microseconds(sorted[^1])];
    }

    /// <summary>p50, p99 and max, in microseconds, of submit-to-start and submit-to-done, over <see cref="Count"/> tasks.</summary>
    public sealed record Summary(double[] ToStart, double[] ToDone, int Count);
}
