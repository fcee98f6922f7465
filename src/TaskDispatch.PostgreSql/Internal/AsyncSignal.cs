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

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var deadline = timeProvider.CreateTimer(static state => ((CancellationTokenSource)state!).Cancel(), timer, timeout, Timeout.InfiniteTimeSpan);
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
