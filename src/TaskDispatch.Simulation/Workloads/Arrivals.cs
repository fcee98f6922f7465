namespace TaskDispatch.Simulation;

/// <summary>When simulated tasks arrive.</summary>
public abstract class Arrivals
{
    private protected Arrivals()
    {
    }

    /// <summary>Every task at time zero: a backlog to drain.</summary>
    /// <returns>The arrival process.</returns>
    public static Arrivals AllAtOnce() => new AllAtOnceArrivals();

    /// <summary>A Poisson stream (the first "M" of M/M/c): independent, exponentially distributed gaps.</summary>
    /// <param name="perSecond">The mean arrival rate; positive.</param>
    /// <returns>The arrival process.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="perSecond"/> is not positive.</exception>
    public static Arrivals Poisson(double perSecond)
    {
        Rate(perSecond, nameof(perSecond));
        return new PoissonArrivals(perSecond);
    }

    /// <summary>Bursts: a Poisson stream at <paramref name="perSecondWhileOn"/> for <paramref name="on"/>, then nothing
    /// for <paramref name="off"/>, repeating.</summary>
    /// <param name="perSecondWhileOn">The rate during a burst; positive.</param>
    /// <param name="on">How long a burst lasts; positive.</param>
    /// <param name="off">How long the quiet between bursts lasts; not negative.</param>
    /// <returns>The arrival process.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static Arrivals Bursty(double perSecondWhileOn, TimeSpan on, TimeSpan off)
    {
        Rate(perSecondWhileOn, nameof(perSecondWhileOn));
        if (on <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(on), on, $"{nameof(on)} must be positive, was {on}.");
        }

        if (off < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(off), off, $"{nameof(off)} must not be negative, was {off}.");
        }

        return new BurstyArrivals(perSecondWhileOn, on.Ticks, off.Ticks);
    }

    /// <summary>The recorded arrivals of a trace, in ticks from its start, in order.</summary>
    internal static Arrivals Replay(long[] ticks) => new ReplayedArrivals(ticks);

    /// <summary>Gets how many tasks a recorded sequence has; <see langword="null"/> for a distribution, which has no end.</summary>
    internal virtual int? Length => null;

    /// <summary>The arrival time of task <paramref name="index"/>, in ticks, given the previous one's.</summary>
    internal abstract long NextTicks(Random random, long previous, int index);

    private static void Rate(double perSecond, string name)
    {
        if (!(perSecond > 0) || !double.IsFinite(perSecond))
        {
            throw new ArgumentOutOfRangeException(name, perSecond, $"{name} must be finite and positive, was {perSecond}.");
        }
    }

    private static long ExponentialGap(Random random, double perSecond) =>
        (long)(-Math.Log(1 - random.NextDouble()) * TimeSpan.TicksPerSecond / perSecond);

    private sealed class ReplayedArrivals(long[] ticks) : Arrivals
    {
        internal override int? Length => ticks.Length;

        internal override long NextTicks(Random random, long previous, int index) => ticks[index];
    }

    private sealed class AllAtOnceArrivals : Arrivals
    {
        internal override long NextTicks(Random random, long previous, int index) => 0;
    }

    private sealed class PoissonArrivals(double perSecond) : Arrivals
    {
        internal override long NextTicks(Random random, long previous, int index) => previous + ExponentialGap(random, perSecond);
    }

    private sealed class BurstyArrivals(double perSecond, long onTicks, long offTicks) : Arrivals
    {
        internal override long NextTicks(Random random, long previous, int index)
        {
            var next = previous + ExponentialGap(random, perSecond);
            var period = onTicks + offTicks;
            var phase = next % period;

            // A gap that ends in the quiet part resumes at the next burst (the stream is memoryless, so nothing is lost).
            return phase < onTicks ? next : next - phase + period;
        }
    }
}
