namespace TaskDispatch;

/// <summary>The stop timeouts the dispatchers and cluster members accept: not negative, at most what a timed wait takes
/// (<see cref="Task.WaitAsync(TimeSpan)"/> refuses longer ones, so a stop given one would fail half done), or
/// <see cref="Timeout.InfiniteTimeSpan"/>.</summary>
internal static class StopTimeouts
{
    /// <summary>The longest finite timeout: 4,294,967,294 ms, about 49.7 days.</summary>
    internal static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>Throws naming <paramref name="name"/> unless <paramref name="timeout"/> is one.</summary>
    internal static void Validate(TimeSpan timeout, string name)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout < TimeSpan.Zero || timeout > Longest))
        {
            throw new ArgumentOutOfRangeException(name, timeout, $"{name} must not be negative nor longer than {Longest.TotalDays:F1} days (4,294,967,294 ms, the longest timed wait); Timeout.InfiniteTimeSpan waits for ever. Was {timeout}.");
        }
    }
}
