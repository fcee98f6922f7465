namespace TaskDispatch.Benchmarks;

/// <summary>What every end-to-end TaskDispatch benchmark does per operation: submit a batch, then await every handle.</summary>
internal static class DispatcherWorkload
{
    /// <summary>Submits <paramref name="handles"/>.Length tasks running <paramref name="work"/> (with options from
    /// <paramref name="options"/> in turn, if given) and awaits them all.</summary>
    internal static async Task<int> SubmitAndAwaitAllAsync(TaskDispatcher dispatcher, Func<TaskContext, ValueTask<int>> work, TaskHandle<int>[] handles, TaskOptions[]? options = null)
    {
        for (var i = 0; i < handles.Length; i++)
        {
            handles[i] = await dispatcher.SubmitAsync(work, options?[i % options.Length]).ConfigureAwait(false);
        }

        var sum = 0;
        foreach (var handle in handles)
        {
            sum += await handle;
        }

        return sum;
    }

    /// <summary>Starts <paramref name="count"/> tasks with <see cref="TaskDispatcher.RunAsync{TResult}"/> and sums their
    /// results: one await per task, no handle kept.</summary>
    internal static async Task<int> RunAllAsync(TaskDispatcher dispatcher, Func<TaskContext, ValueTask<int>> work, int count)
    {
        var results = new ValueTask<int>[count];
        for (var i = 0; i < count; i++)
        {
#pragma warning disable CA2012 // Kept to be awaited once each below: storing them is the point, so no Task is allocated.
            results[i] = dispatcher.RunAsync(work);
#pragma warning restore CA2012
        }

        var sum = 0;
        foreach (var result in results)
        {
            sum += await result.ConfigureAwait(false);
        }

        return sum;
    }
}
