namespace TaskDispatch.Benchmarks;

/// <summary>The priority-ordered loop users write by hand, and the baseline for priority and shortest-job-first
/// dispatch: a <see cref="PriorityQueue{TElement, TPriority}"/> under a lock, a semaphore counting queued items, and
/// consumer loops that take the most urgent item and complete its <see cref="TaskCompletionSource{TResult}"/>.</summary>
internal sealed class LockedPriorityQueueLoop : IDisposable
{
    private readonly PriorityQueue<CompletionItem, (int Priority, long Sequence)> _queue = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _consumers;
    private long _sequence;

    internal LockedPriorityQueueLoop(int consumers)
    {
        _consumers = new Task[consumers];
        for (var i = 0; i < consumers; i++)
        {
            _consumers[i] = Task.Run(ConsumeAsync);
        }
    }

    /// <summary>Queues <paramref name="results"/>.Length items with priorities 0–3 (higher first) and awaits them all.</summary>
    internal async Task<int> RunAsync(Func<ValueTask<int>> work, Task<int>[] results)
    {
        for (var i = 0; i < results.Length; i++)
        {
            var item = new CompletionItem(work);
            lock (_lock)
            {
                // Higher priority first, then arrival order, as TaskDispatch's priority policy does.
                _queue.Enqueue(item, (-(i & 3), _sequence++));
            }

            _available.Release();
            results[i] = item.Completion.Task;
        }

        return await CompletionItem.SumAsync(results).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll(_consumers);
        }
        catch (AggregateException)
        {
            // The consumers end by cancellation.
        }

        _stop.Dispose();
        _available.Dispose();
    }

    private async Task ConsumeAsync()
    {
        while (true)
        {
            await _available.WaitAsync(_stop.Token).ConfigureAwait(false);
            CompletionItem item;
            lock (_lock)
            {
                item = _queue.Dequeue();
            }

            await item.RunAsync().ConfigureAwait(false);
        }
    }
}
