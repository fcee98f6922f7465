using System.Threading.Tasks.Dataflow;

namespace TaskDispatch.Benchmarks;

/// <summary>TPL Dataflow's <see cref="ActionBlock{TInput}"/> with a bounded degree of parallelism, completing a
/// <see cref="TaskCompletionSource{TResult}"/> per item: the library answer to "run these with K workers".</summary>
internal sealed class DataflowLoop : IDisposable
{
    private readonly ActionBlock<CompletionItem> _block;

    internal DataflowLoop(int maxDegreeOfParallelism)
    {
        _block = new ActionBlock<CompletionItem>(
            static item => item.RunAsync().AsTask(),
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, SingleProducerConstrained = true });
    }

    /// <summary>Posts <paramref name="results"/>.Length items running <paramref name="work"/> and awaits them all.</summary>
    internal async Task<int> RunAsync(Func<ValueTask<int>> work, Task<int>[] results)
    {
        for (var i = 0; i < results.Length; i++)
        {
            var item = new CompletionItem(work);
            _block.Post(item);
            results[i] = item.Completion.Task;
        }

        return await CompletionItem.SumAsync(results).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _block.Complete();
        _block.Completion.Wait();
    }
}
