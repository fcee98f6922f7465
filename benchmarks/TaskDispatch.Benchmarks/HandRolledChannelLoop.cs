using System.Threading.Channels;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// The loop users write by hand, and the baseline of every throughput benchmark: an unbounded <see cref="Channel{T}"/>
/// read by a fixed number of consumer loops, each completing a <see cref="TaskCompletionSource{TResult}"/> per item.
/// </summary>
internal sealed class HandRolledChannelLoop : IDisposable
{
    private readonly Channel<CompletionItem> _channel = Channel.CreateUnbounded<CompletionItem>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = true });
    private readonly Task[] _consumers;

    internal HandRolledChannelLoop(int consumers)
    {
        _consumers = new Task[consumers];
        for (var i = 0; i < consumers; i++)
        {
            _consumers[i] = Task.Run(ConsumeAsync);
        }
    }

    /// <summary>Submits <paramref name="results"/>.Length items running <paramref name="work"/> and awaits them all.</summary>
    internal async Task<int> RunAsync(Func<ValueTask<int>> work, Task<int>[] results)
    {
        var writer = _channel.Writer;
        for (var i = 0; i < results.Length; i++)
        {
            var item = new CompletionItem(work);
            writer.TryWrite(item);
            results[i] = item.Completion.Task;
        }

        return await CompletionItem.SumAsync(results).ConfigureAwait(false);
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
            while (reader.TryRead(out var item))
            {
                await item.RunAsync().ConfigureAwait(false);
            }
        }
    }
}
