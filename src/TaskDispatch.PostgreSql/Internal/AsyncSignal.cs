using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>A wake-up that coalesces: any number of <see cref="Set"/> calls before a wait release it once.</summary>
internal sealed class AsyncSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    internal void Set() => _channel.Writer.TryWrite(true);

    /// <summary>Waits for a <see cref="Set"/> or the timeout, whichever comes first; returns whether it was set.</summary>
    internal async ValueTask<bool> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (_channel.Reader.TryRead(out _))
        {
            return true;
        }

        // The framework's own deadline source: its timer tolerates firing after the source was disposed, which happens
        // when the process was paused (SIGSTOP) and the callback was queued as the wait returned.
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await _channel.Reader.ReadAsync(either.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
