using System.Globalization;

namespace TaskDispatch.Simulation;

/// <summary>A distribution of durations from a simulation: mean, median, tail percentiles and maximum.</summary>
/// <param name="Mean">The mean.</param>
/// <param name="P50">The median.</param>
/// <param name="P95">The 95th percentile.</param>
/// <param name="P99">The 99th percentile.</param>
/// <param name="Max">The longest.</param>
public sealed record DurationSummary(TimeSpan Mean, TimeSpan P50, TimeSpan P95, TimeSpan P99, TimeSpan Max)
{
    /// <summary>Gets the summary of no durations: all zero.</summary>
    internal static DurationSummary Empty { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Summarizes durations in ticks; sorts <paramref name="ticks"/> in place.</summary>
    internal static DurationSummary Of(long[] ticks, int count)
    {
        if (count == 0)
        {
            return Empty;
        }

        var sum = 0.0;
        for (var i = 0; i < count; i++)
        {
            sum += ticks[i];
        }

        Array.Sort(ticks, 0, count);
        return new DurationSummary(
            TimeSpan.FromTicks((long)Math.Round(sum / count)),
            TimeSpan.FromTicks(Percentile(ticks, count, 0.50)),
            TimeSpan.FromTicks(Percentile(ticks, count, 0.95)),
            TimeSpan.FromTicks(Percentile(ticks, count, 0.99)),
            TimeSpan.FromTicks(ticks[count - 1]));
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"mean {Mean.TotalMilliseconds:0.###} ms, p50 {P50.TotalMilliseconds:0.###} ms, p95 {P95.TotalMilliseconds:0.###} ms, p99 {P99.TotalMilliseconds:0.###} ms, max {Max.TotalMilliseconds:0.###} ms");

    private static long Percentile(long[] sorted, int count, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * count) - 1, 0, count - 1)];
}
