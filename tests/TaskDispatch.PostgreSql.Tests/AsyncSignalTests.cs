namespace TaskDispatch.PostgreSql.Tests;

[TestFixture]
[CancelAfter(10_000)]
public sealed class AsyncSignalTests
{
    [Test]
    public async Task A_deadline_that_fires_after_the_wait_returned_is_harmless()
    {
        // What a paused process does: the timer's callback was handed to the thread pool while the process was stopped,
        // the wait was set and returned meanwhile, and only then does the callback run, against a disposed source.
        // Before the fix its ObjectDisposedException ended the process (seen with SIGSTOP/SIGCONT around 20,000 tasks).
        var time = new HeldTimerTimeProvider();
        var signal = new AsyncSignal();

        var wait = signal.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None);
        Assert.That(time.Callback, Is.Not.Null, "the wait arms its deadline before it blocks");
        signal.Set();
        Assert.That(await wait, Is.True);

        Assert.DoesNotThrow(() => time.Callback!(time.State));
    }

    [Test]
    public async Task A_deadline_that_fires_while_the_wait_blocks_ends_it_unset()
    {
        var time = new HeldTimerTimeProvider();
        var signal = new AsyncSignal();

        var wait = signal.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None).AsTask();
        time.Callback!(time.State);

        Assert.That(await wait, Is.False);
    }

    [Test]
    public async Task Sets_before_a_wait_release_it_once()
    {
        var time = new HeldTimerTimeProvider();
        var signal = new AsyncSignal();
        signal.Set();
        signal.Set();

        Assert.That(await signal.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None), Is.True);
        var second = signal.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None).AsTask();
        Assert.That(second.IsCompleted, Is.False, "the two sets were one wake-up");
        time.Callback!(time.State);
        Assert.That(await second, Is.False);
    }

    /// <summary>Hands out timers that never fire by themselves: the test calls the last callback when it wants.</summary>
    private sealed class HeldTimerTimeProvider : TimeProvider
    {
        internal TimerCallback? Callback { get; private set; }

        internal object? State { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Callback = callback;
            State = state;
            return new HeldTimer();
        }

        private sealed class HeldTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
