using System.Numerics;

namespace TaskDispatch;

/// <summary>A lock-free histogram of durations for percentiles: log-linear buckets (16 per power of two, so a percentile
/// is off by at most about 3 %), striped by processor so that workers on different cores do not share cache lines.</summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 4;
    private const int SubBuckets = 1 << SubBucketBits;

    /// <summary>Enough buckets for any non-negative 64-bit tick count.</summary>
    private const int BucketCount = SubBuckets + ((64 - SubBucketBits) * SubBuckets);

    /// <summary>Where each stripe keeps its sum and maximum: past the buckets, with a cache line of room either side so
    /// that neither shares a line with another stripe's array.</summary>
    private const int SumIndex = BucketCount + 8;
    private const int MaxIndex = SumIndex + 1;
    private const int StripeLength = MaxIndex + 8;

    private readonly long[][] _stripes;
    private readonly int _stripeMask;

    internal LatencyHistogram()
    {
        var stripes = (int)Math.Min(4, BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount));
        _stripes = new long[stripes][];
        for (var i = 0; i < stripes; i++)
        {
            _stripes[i] = new long[StripeLength];
        }

        _stripeMask = stripes - 1;
    }

    /// <summary>Adds one duration.</summary>
    internal void Record(TimeSpan duration)
    {
        var ticks = Math.Max(0, duration.Ticks);
        var stripe = _stripes[Thread.GetCurrentProcessorId() & _stripeMask];
        Interlocked.Increment(ref stripe[BucketOf(ticks)]);
        Interlocked.Add(ref stripe[SumIndex], ticks);
        var max = Volatile.Read(ref stripe[MaxIndex]);
        while (ticks > max)
        {
            var seen = Interlocked.CompareExchange(ref stripe[MaxIndex], ticks, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>Summarises what was recorded so far: count, mean, 50th, 95th and 99th percentiles and maximum.</summary>
    internal TimingStatistics Snapshot()
    {
        var counts = new long[BucketCount];
        long total = 0;
        long sum = 0;
        long max = 0;
        foreach (var stripe in _stripes)
        {
            for (var i = 0; i < BucketCount; i++)
            {
                var count = Volatile.Read(ref stripe[i]);
                counts[i] += count;
                total += count;
            }

            sum += Interlocked.Read(ref stripe[SumIndex]);
            max = Math.Max(max, Interlocked.Read(ref stripe[MaxIndex]));
        }

        if (total == 0)
        {
            return TimingStatistics.Empty;
        }

        return new TimingStatistics(
            total,
            TimeSpan.FromTicks(sum / total),
            Percentile(counts, total, 0.50, max),
            Percentile(counts, total, 0.95, max),
            Percentile(counts, total, 0.99, max),
            TimeSpan.FromTicks(max));
    }

    /// <summary>The bucket of a tick count: exact below 16, then 16 buckets per power of two.</summary>
    internal static int BucketOf(long ticks)
    {
        if (ticks < SubBuckets)
        {
            return (int)ticks;
        }

        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)ticks);
        var subBucket = (int)(ticks >> (exponent - SubBucketBits)) & (SubBuckets - 1);
        return SubBuckets + ((exponent - SubBucketBits) * SubBuckets) + subBucket;
    }

    /// <summary>The smallest tick count that falls in a bucket.</summary>
    internal static long LowerBoundOf(int bucket)
    {
        if (bucket < SubBuckets)
        {
            return bucket;
        }

        var exponent = ((bucket - SubBuckets) / SubBuckets) + SubBucketBits;
        var subBucket = (bucket - SubBuckets) % SubBuckets;
        return (1L << exponent) | ((long)subBucket << (exponent - SubBucketBits));
    }

    private static TimeSpan Percentile(long[] counts, long total, double quantile, long max)
    {
        // The smallest value with at least this many recordings at or below it (nearest-rank).
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                // The bucket's midpoint, never past the largest recording.
                var low = LowerBoundOf(i);
                var high = i + 1 < BucketCount ? LowerBoundOf(i + 1) - 1 : long.MaxValue;
                return TimeSpan.FromTicks(Math.Min(max, low + ((high - low) / 2)));
            }
        }

        return TimeSpan.FromTicks(max);
    }
}
