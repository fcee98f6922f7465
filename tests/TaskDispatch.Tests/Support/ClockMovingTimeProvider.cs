using Microsoft.Extensions.Time.Testing;

namespace TaskDispatch.Tests.Support;

/// <summary>A fake clock that moves forward while the next timer is being made: the race of a test that advances the
/// clock as soon as it sees a task waiting, against the engine that is still arming the task's timer.</summary>
public sealed class ClockMovingTimeProvider : FakeTimeProvider
{
    private long _moveTicks;
    private int _moved;

    /// <summary>Gets whether the clock was moved under a timer.</summary>
    public bool Moved => Volatile.Read(ref _moved) != 0;

    /// <summary>Advances the clock by <paramref name="move"/> when the next timer with a due time is created, just
    /// before it is made.</summary>
    public void MoveWhileTheNextTimerIsMade(TimeSpan move) => Interlocked.Exchange(ref _moveTicks, move.Ticks);

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan && Interlocked.Exchange(ref _moveTicks, 0) is var ticks and > 0)
        {
            Advance(TimeSpan.FromTicks(ticks));
            Volatile.Write(ref _moved, 1);
        }

        return base.CreateTimer(callback, state, dueTime, period);
    }
}
