namespace TaskDispatch;

/// <summary>Starts one-shot timers that fire when the clock reaches a due time rather than a span after they happen to
/// be made. A <see cref="TimeProvider"/>'s timer counts from its own creation, so a clock that moves between the reading
/// the span was computed from and the creation makes the timer late by that much. On a real clock that is microseconds;
/// on a test's fake clock, advanced by another thread right after it saw the task waiting, it is the whole advance, and
/// a retry whose time the clock has reached never runs.</summary>
internal static class DueTimer
{
    /// <summary>How far a real clock may move while a timer is made before the timer is set again from a new reading.</summary>
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(1);

    /// <summary>How many times a timer is set again, at most, while the clock keeps moving under it.</summary>
    private const int MaxCorrections = 16;

    /// <summary>Starts a timer that calls <paramref name="callback"/> once when the clock reaches <paramref name="due"/>
    /// (<see cref="TimeProvider.GetUtcNow"/>), or at once when it has.</summary>
    /// <returns>The timer; disposing it before it fires cancels the call.</returns>
    internal static ITimer Start(TimeProvider time, TimerCallback callback, object? state, DateTimeOffset due)
    {
        var once = new Once(callback, state);
        var read = time.GetUtcNow();
        var timer = time.CreateTimer(static s => ((Once)s!).Fire(), once, Remaining(due, read), Timeout.InfiniteTimeSpan);

        // The timer fires at (clock at its creation) + (due - read): not early (but for the timer's own rounding), late
        // by however far the clock moved since the read. Set it again from a fresh reading until the clock stands still
        // across a setting. A setting after it fired would fire it again, which Once absorbs.
        for (var corrections = 0; corrections < MaxCorrections && !once.Fired; corrections++)
        {
            var after = time.GetUtcNow();
            if (after - read <= Tolerance)
            {
                break;
            }

            read = after;
            timer.Change(Remaining(due, read), Timeout.InfiniteTimeSpan);
        }

        return timer;
    }

    /// <summary>What is left until <paramref name="due"/>, between zero and the longest a timer can wait (a clock that
    /// stepped back, or a stored time ahead of it, could ask for more).</summary>
    private static TimeSpan Remaining(DateTimeOffset due, DateTimeOffset now) =>
        due <= now ? TimeSpan.Zero : due - now > TaskDispatcherDefaults.MaxDelay ? TaskDispatcherDefaults.MaxDelay : due - now;

    /// <summary>The callback and its state, called at most once however often the timer fires.</summary>
    private sealed class Once(TimerCallback callback, object? state)
    {
        private int _fired;

        internal bool Fired => Volatile.Read(ref _fired) != 0;

        internal void Fire()
        {
            if (Interlocked.Exchange(ref _fired, 1) == 0)
            {
                callback(state);
            }
        }
    }
}
