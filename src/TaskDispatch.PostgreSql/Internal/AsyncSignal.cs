using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>A wake-up that coalesces: any number of <see cref="Set"/> calls before a wait release it once.</summary>
internal sealed class AsyncSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Cancels the wait whose deadline passed. Disposing a timer does not recall a callback already handed to
    /// the thread pool: after the process was paused (SIGSTOP, a stalled machine), the deadline fires as the wait
    /// returns, and its source may be disposed by then. An exception here would end the process.</summary>
    private static readonly TimerCallback s_onDeadline = static state =>
    {
        try
        {
            ((CancellationTokenSource)state!).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The wait ended first: nothing is left to cancel.
        }
    };

    internal void Set() => _channel.Writer.TryWrite(true);

    /// <summary>Waits for a <see cref="Set"/> or the timeout, whichever comes first; returns whether it was set.</summary>
    internal async ValueTask<bool> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (_channel.Reader.TryRead(out _))
        {
            return true;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var deadline = timeProvider.CreateTimer(s_onDeadline, timer, timeout, Timeout.InfiniteTimeSpan);
        try
        {
            await _channel.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
