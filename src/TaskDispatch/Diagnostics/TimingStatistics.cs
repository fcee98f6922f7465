namespace TaskDispatch;

/// <summary>A distribution of durations: how many, the mean, the 50th, 95th and 99th percentiles, and the largest.</summary>
/// <remarks>Percentiles come from a log-linear histogram with 16 buckets per power of two: each is within about 3 % of
/// the exact value (and never above <see cref="Max"/>, which is exact, as are <see cref="Count"/> and <see cref="Average"/>).</remarks>
public sealed class TimingStatistics
{
    internal TimingStatistics(long count, TimeSpan average, TimeSpan p50, TimeSpan p95, TimeSpan p99, TimeSpan max)
    {
        Count = count;
        Average = average;
        P50 = p50;
        P95 = p95;
        P99 = p99;
        Max = max;
    }

    /// <summary>Gets the statistics of nothing recorded: every value zero.</summary>
    public static TimingStatistics Empty { get; } = new(0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Gets how many durations were recorded.</summary>
    public long Count { get; }

    /// <summary>Gets their mean.</summary>
    public TimeSpan Average { get; }

    /// <summary>Gets the median.</summary>
    public TimeSpan P50 { get; }

    /// <summary>Gets the 95th percentile.</summary>
    public TimeSpan P95 { get; }

    /// <summary>Gets the 99th percentile.</summary>
    public TimeSpan P99 { get; }

    /// <summary>Gets the largest.</summary>
    public TimeSpan Max { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"n={Count} mean={Average.TotalMilliseconds:0.###} ms p50={P50.TotalMilliseconds:0.###} ms p95={P95.TotalMilliseconds:0.###} ms p99={P99.TotalMilliseconds:0.###} ms max={Max.TotalMilliseconds:0.###} ms";
}
