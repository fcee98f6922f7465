using System.Threading.Channels;

namespace TaskDispatch.Benchmarks;

/// <summary>The physical limit of the primitive TaskDispatch builds on: a <see cref="Channel{T}"/> read by consumer
/// loops that run each item's work, with no per-item completion; one signal when the whole batch is done.</summary>
internal sealed class BareChannelLoop : IDisposable
{
    private readonly Channel<Func<ValueTask<int>>> _channel = Channel.CreateUnbounded<Func<ValueTask<int>>>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = true });
    private readonly Task[] _consumers;
    private TaskCompletionSource _batchDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _remaining;

    internal BareChannelLoop(int consumers)
    {
        _consumers = new Task[consumers];
        for (var i = 0; i < consumers; i++)
        {
            _consumers[i] = Task.Run(ConsumeAsync);
        }
    }

    /// <summary>Writes <paramref name="count"/> items running <paramref name="work"/> and waits until all have run.</summary>
    internal Task RunAsync(Func<ValueTask<int>> work, int count)
    {
        _batchDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _remaining, count);
        var writer = _channel.Writer;
        for (var i = 0; i < count; i++)
        {
            writer.TryWrite(work);
        }

        return _batchDone.Task;
    }

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        Task.WaitAll(_consumers);
    }

    private async Task ConsumeAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var work))
            {
                await work().ConfigureAwait(false);
                if (Interlocked.Decrement(ref _remaining) == 0)
                {
                    _batchDone.TrySetResult();
                }
            }
        }
    }
}
