namespace TaskDispatch.Simulation.Tests;

/// <summary>The report's percentiles, selected in place, against the nearest-rank percentiles of a sorted copy.</summary>
[TestFixture]
public sealed class DurationSummaryTests
{
    private static readonly int[] s_sizes = [1, 2, 3, 16, 17, 20, 99, 100, 101, 1_000, 10_000, 100_003];

    /// <summary>How the values are laid out before the summary.</summary>
    public enum Shape
    {
        Random,
        FewDistinct,
        Ascending,
        Descending,
        AllEqual,
    }

    [Test]
    public void Of_EverySizeAndShape_GivesTheNearestRankPercentilesOfTheSortedValues(
        [Values] Shape shape,
        [ValueSource(nameof(s_sizes))] int size)
    {
        var random = new Random(size * 31 + (int)shape);
        var values = Enumerable.Range(0, size).Select(i => shape switch
        {
            Shape.Random => random.NextInt64(0, 1_000_000_000),
            Shape.FewDistinct => random.Next(3) * 10L,
            Shape.Ascending => i * 7L,
            Shape.Descending => (size - i) * 7L,
            _ => 42L,
        }).ToArray();
        var sorted = values.Order().ToArray();

        var summary = DurationSummary.Of(values, size);

        Assert.Multiple(() =>
        {
            Assert.That(summary.P50.Ticks, Is.EqualTo(NearestRank(sorted, 0.50)));
            Assert.That(summary.P95.Ticks, Is.EqualTo(NearestRank(sorted, 0.95)));
            Assert.That(summary.P99.Ticks, Is.EqualTo(NearestRank(sorted, 0.99)));
            Assert.That(summary.Max.Ticks, Is.EqualTo(sorted[^1]));
            Assert.That(summary.Mean.Ticks, Is.EqualTo((long)Math.Round(sorted.Select(value => (double)value).Sum() / size)));
            Assert.That(values.Order(), Is.EqualTo(sorted), "the values are reordered, never changed");
        });
    }

    [Test]
    public void Of_CountShorterThanTheArray_IgnoresTheRest()
    {
        long[] values = [5, 1, 3, 1_000, 2_000];

        var summary = DurationSummary.Of(values, 3);

        Assert.Multiple(() =>
        {
            Assert.That(summary.P50.Ticks, Is.EqualTo(3));
            Assert.That(summary.Max.Ticks, Is.EqualTo(5));
            Assert.That(values[3..], Is.EqualTo(new long[] { 1_000, 2_000 }));
        });
    }

    private static long NearestRank(long[] sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
}
