namespace TaskDispatch.Tests.Diagnostics;

[TestFixture]
public sealed class LatencyHistogramTests
{
    [Test]
    public void Snapshot_OfNothing_IsEmpty() => Assert.That(new LatencyHistogram().Snapshot(), Is.SameAs(TimingStatistics.Empty));

    [TestCase(1)]
    [TestCase(42)]
    public void Percentiles_OfRandomDurations_AreWithinThreePercentOfExact(int seed)
    {
        var random = new Random(seed);
        var histogram = new LatencyHistogram();
        var ticks = new long[10_000];
        for (var i = 0; i < ticks.Length; i++)
        {
            // Log-uniform from 1 µs to 10 s, like real latencies.
            ticks[i] = (long)Math.Pow(10, 1 + (random.NextDouble() * 7));
            histogram.Record(TimeSpan.FromTicks(ticks[i]));
        }

        Array.Sort(ticks);
        var snapshot = histogram.Snapshot();
        Assert.Multiple(() =>
        {
            Assert.That(snapshot.Count, Is.EqualTo(ticks.Length));
            Assert.That(snapshot.Max.Ticks, Is.EqualTo(ticks[^1]));
            Assert.That(snapshot.Average.Ticks, Is.EqualTo(ticks.Sum() / ticks.Length));
            foreach (var (quantile, value) in new[] { (0.50, snapshot.P50), (0.95, snapshot.P95), (0.99, snapshot.P99) })
            {
                var exact = ticks[(int)Math.Ceiling(quantile * ticks.Length) - 1];
                Assert.That(value.Ticks, Is.EqualTo(exact).Within(3).Percent, $"p{quantile * 100}");
            }
        });
    }

    [Test]
    public void Buckets_CoverEveryTickCountInOrder()
    {
        var previous = -1;
        foreach (var ticks in new long[] { 0, 1, 15, 16, 17, 31, 32, 1_000, 1L << 40, long.MaxValue })
        {
            var bucket = LatencyHistogram.BucketOf(ticks);
            Assert.That(bucket, Is.GreaterThanOrEqualTo(previous));
            Assert.That(LatencyHistogram.LowerBoundOf(bucket), Is.LessThanOrEqualTo(ticks));
            previous = bucket;
        }
    }

    [Test]
    public async Task Record_FromManyThreads_CountsEveryDuration()
    {
        var histogram = new LatencyHistogram();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 25_000; i++)
            {
                histogram.Record(TimeSpan.FromTicks(i));
            }
        })));

        Assert.That(histogram.Snapshot().Count, Is.EqualTo(100_000));
        Assert.That(histogram.Snapshot().Max, Is.EqualTo(TimeSpan.FromTicks(24_999)));
    }
}
