namespace TaskDispatch.Tests.Support;

/// <summary>Keeps the largest value seen, from many threads: for peak concurrency counters in tests.</summary>
public static class AtomicMax
{
    /// <summary>Raises <paramref name="target"/> to <paramref name="value"/> if it is larger.</summary>
    public static void Update(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
