namespace TaskDispatch.Tests.Support;

/// <summary>Waits for a task's outcome without ever hanging a test: a task that does not end within
/// <see cref="TestTimeouts.Generous"/> fails the test with its state, instead of blocking the run.</summary>
public static class Outcomes
{
    /// <summary>Waits for the task's end, then returns its result or rethrows its exception.</summary>
    public static async Task<T> OutcomeAsync<T>(TaskHandle<T> handle)
    {
        await WaitForEndAsync(handle);
        return await handle;
    }

    /// <summary>Waits for the task's end, then rethrows its exception if it failed or was cancelled.</summary>
    public static async Task OutcomeAsync(TaskHandle handle)
    {
        await WaitForEndAsync(handle);
        await handle;
    }

    /// <summary>Waits for the task's end, whatever it is.</summary>
    public static async Task WaitForEndAsync(TaskHandle handle)
    {
        // Observes the end without its exception, so a timeout here can only mean the wait ran out.
        var ended = handle.Completion.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await ended.WaitAsync(TestTimeouts.Generous);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Task '{handle.Id}' did not finish; it is {handle.State} after {handle.Attempts} attempt(s).");
        }
    }
}
