namespace TaskDispatch.Simulation;

/// <summary>How long a simulated task runs on a node of speed 1: a distribution to draw service times from.</summary>
public abstract class ServiceTime
{
    private protected ServiceTime()
    {
    }

    /// <summary>Gets the distribution's mean, which with the arrival rate sets the load.</summary>
    public abstract TimeSpan Mean { get; }

    /// <summary>Exponential service times (the "M" of M/M/c): memoryless, coefficient of variation 1.</summary>
    /// <param name="mean">The mean; positive.</param>
    /// <returns>The distribution.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mean"/> is not positive.</exception>
    public static ServiceTime Exponential(TimeSpan mean)
    {
        Positive(mean, nameof(mean));
        return new ExponentialServiceTime(mean);
    }

    /// <summary>Log-normal service times: most tasks near <paramref name="median"/>, a long right tail set by
    /// <paramref name="sigma"/> (the standard deviation of the logarithm).</summary>
    /// <param name="median">The median; positive.</param>
    /// <param name="sigma">The spread of the logarithm; positive (1 is already heavy: the mean is 1.65 times the median).</param>
    /// <returns>The distribution.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is not positive.</exception>
    public static ServiceTime LogNormal(TimeSpan median, double sigma)
    {
        Positive(median, nameof(median));
        if (!(sigma > 0) || !double.IsFinite(sigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, $"{nameof(sigma)} must be finite and positive, was {sigma}.");
        }

        return new LogNormalServiceTime(median, sigma);
    }

    /// <summary>Two kinds of task: a share of short ones and the rest long, each uniform within its range, the case
    /// where shortest-job-first pays most.</summary>
    /// <param name="shortShare">The share of short tasks, from 0 to 1.</param>
    /// <param name="shortMinimum">The shortest short task.</param>
    /// <param name="shortMaximum">The longest short task.</param>
    /// <param name="longMinimum">The shortest long task.</param>
    /// <param name="longMaximum">The longest long task.</param>
    /// <returns>The distribution.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The share is outside [0, 1] or a range is empty or not positive.</exception>
    public static ServiceTime Bimodal(double shortShare, TimeSpan shortMinimum, TimeSpan shortMaximum, TimeSpan longMinimum, TimeSpan longMaximum)
    {
        if (!(shortShare >= 0 && shortShare <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(shortShare), shortShare, $"{nameof(shortShare)} must be from 0 to 1, was {shortShare}.");
        }

        Range(shortMinimum, shortMaximum, nameof(shortMaximum));
        Range(longMinimum, longMaximum, nameof(longMaximum));
        return new BimodalServiceTime(shortShare, shortMinimum, shortMaximum, longMinimum, longMaximum);
    }

    /// <summary>Pareto (heavy-tailed) service times: at least <paramref name="minimum"/>, with tail index
    /// <paramref name="alpha"/>; the smaller alpha, the heavier the tail.</summary>
    /// <param name="minimum">The smallest service time; positive.</param>
    /// <param name="alpha">The tail index; greater than 1, so that the mean exists.</param>
    /// <returns>The distribution.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static ServiceTime Pareto(TimeSpan minimum, double alpha)
    {
        Positive(minimum, nameof(minimum));
        if (!(alpha > 1) || !double.IsFinite(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"{nameof(alpha)} must be finite and greater than 1 (so that the mean exists), was {alpha}.");
        }

        return new ParetoServiceTime(minimum, alpha);
    }

    /// <summary>Every task takes <paramref name="duration"/>.</summary>
    /// <param name="duration">The service time; positive.</param>
    /// <returns>The distribution.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/> is not positive.</exception>
    public static ServiceTime Fixed(TimeSpan duration)
    {
        Positive(duration, nameof(duration));
        return new FixedServiceTime(duration);
    }

    /// <summary>The recorded durations of a trace, in ticks, in arrival order.</summary>
    internal static ServiceTime Replay(long[] ticks) => new ReplayedServiceTime(ticks);

    /// <summary>Gets how many tasks a recorded sequence has; <see langword="null"/> for a distribution, which has no end.</summary>
    internal virtual int? Length => null;

    /// <summary>Draws the service time of task <paramref name="index"/>, in ticks (at least 1).</summary>
    internal abstract long SampleTicks(Random random, int index);

    /// <summary>Which kind a drawn service time belongs to, for distributions with kinds (bimodal); else <see langword="null"/>.</summary>
    internal virtual string? KindOf(long ticks) => null;

    private protected static long AtLeastOneTick(double ticks) => Math.Max(1, (long)Math.Round(ticks));

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, was {value}.");
        }
    }

    private static void Range(TimeSpan minimum, TimeSpan maximum, string name)
    {
        if (minimum <= TimeSpan.Zero || maximum < minimum)
        {
            throw new ArgumentOutOfRangeException(name, maximum, $"The range {minimum} to {maximum} must be positive and not empty.");
        }
    }

    private sealed class ExponentialServiceTime(TimeSpan mean) : ServiceTime
    {
        public override TimeSpan Mean => mean;

        internal override long SampleTicks(Random random, int index) => AtLeastOneTick(-Math.Log(1 - random.NextDouble()) * mean.Ticks);
    }

    private sealed class LogNormalServiceTime(TimeSpan median, double sigma) : ServiceTime
    {
        public override TimeSpan Mean => TimeSpan.FromTicks((long)(median.Ticks * Math.Exp(sigma * sigma / 2)));

        internal override long SampleTicks(Random random, int index) => AtLeastOneTick(median.Ticks * Math.Exp(sigma * StandardNormal(random)));

        private static double StandardNormal(Random random)
        {
            // Box-Muller; one of the pair is enough here.
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
    }

    private sealed class BimodalServiceTime(double shortShare, TimeSpan shortMinimum, TimeSpan shortMaximum, TimeSpan longMinimum, TimeSpan longMaximum) : ServiceTime
    {
        public override TimeSpan Mean => TimeSpan.FromTicks((long)((shortShare * (shortMinimum.Ticks + shortMaximum.Ticks) / 2) + ((1 - shortShare) * (longMinimum.Ticks + longMaximum.Ticks) / 2)));

        internal override long SampleTicks(Random random, int index)
        {
            var (minimum, maximum) = random.NextDouble() < shortShare ? (shortMinimum, shortMaximum) : (longMinimum, longMaximum);
            return AtLeastOneTick(minimum.Ticks + (random.NextDouble() * (maximum.Ticks - minimum.Ticks)));
        }

        internal override string? KindOf(long ticks) => ticks <= shortMaximum.Ticks && shortMaximum < longMinimum ? "short" : "long";
    }

    private sealed class ParetoServiceTime(TimeSpan minimum, double alpha) : ServiceTime
    {
        public override TimeSpan Mean => TimeSpan.FromTicks((long)(alpha * minimum.Ticks / (alpha - 1)));

        internal override long SampleTicks(Random random, int index) => AtLeastOneTick(minimum.Ticks / Math.Pow(1 - random.NextDouble(), 1 / alpha));
    }

    private sealed class ReplayedServiceTime(long[] ticks) : ServiceTime
    {
        internal override int? Length => ticks.Length;

        public override TimeSpan Mean => TimeSpan.FromTicks(ticks.Length == 0 ? 0 : (long)ticks.Average());

        internal override long SampleTicks(Random random, int index) => Math.Max(1, ticks[index]);
    }

    private sealed class FixedServiceTime(TimeSpan duration) : ServiceTime
    {
        public override TimeSpan Mean => duration;

        internal override long SampleTicks(Random random, int index) => duration.Ticks;
    }
}
