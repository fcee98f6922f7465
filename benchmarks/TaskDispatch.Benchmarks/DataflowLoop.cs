using System.Threading.Tasks.Dataflow;

namespace TaskDispatch.Benchmarks;

/// <summary>TPL Dataflow's <see cref="ActionBlock{TInput}"/> with a bounded degree of parallelism, completing a
/// <see cref="TaskCompletionSource{TResult}"/> per item: the library answer to "run these with K workers".</summary>
internal sealed class DataflowLoop : IDisposable
{
    private readonly ActionBlock<WorkItem> _block;

    internal DataflowLoop(int maxDegreeOfParallelism)
    {
        _block = new ActionBlock<WorkItem>(
            static async item =>
            {
                try
                {
                    item.Completion.TrySetResult(await item.Work().ConfigureAwait(false));
                }
                catch (Exception exception)
                {
                    item.Completion.TrySetException(exception);
                }
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, SingleProducerConstrained = true });
    }

    /// <summary>Posts <paramref name="results"/>.Length items running <paramref name="work"/> and awaits them all.</summary>
    internal async Task<int> RunAsync(Func<ValueTask<int>> work, Task<int>[] results)
    {
        for (var i = 0; i < results.Length; i++)
        {
            var item = new WorkItem(work);
            _block.Post(item);
            results[i] = item.Completion.Task;
        }

        var sum = 0;
        foreach (var result in results)
        {
            sum += await result.ConfigureAwait(false);
        }

        return sum;
    }

    public void Dispose()
    {
        _block.Complete();
        _block.Completion.Wait();
    }

    private sealed class WorkItem(Func<ValueTask<int>> work)
    {
        public Func<ValueTask<int>> Work { get; } = work;

        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
