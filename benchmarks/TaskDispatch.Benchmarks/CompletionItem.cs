namespace TaskDispatch.Benchmarks;

/// <summary>An item of the hand-written baselines: the work and the <see cref="TaskCompletionSource{TResult}"/> its
/// submitter awaits, completed by whichever consumer runs it.</summary>
internal sealed class CompletionItem(Func<ValueTask<int>> work)
{
    public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Runs the work and completes the item with its result or exception.</summary>
    public async ValueTask RunAsync()
    {
        try
        {
            Completion.TrySetResult(await work().ConfigureAwait(false));
        }
        catch (Exception exception)
        {
            Completion.TrySetException(exception);
        }
    }

    /// <summary>Awaits every result and sums them, as a submitter waiting for its batch does.</summary>
    public static async Task<int> SumAsync(Task<int>[] results)
    {
        var sum = 0;
        foreach (var result in results)
        {
            sum += await result.ConfigureAwait(false);
        }

        return sum;
    }
}
