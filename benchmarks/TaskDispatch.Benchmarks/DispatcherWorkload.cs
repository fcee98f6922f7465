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
}
