namespace TaskDispatch.Tests.Support;

/// <summary>A running task that holds one node slot until the test releases it.</summary>
public sealed class SlotBlocker
{
    private SlotBlocker(TaskHandle handle, Signal release)
    {
        Handle = handle;
        ReleaseSignal = release;
    }

    /// <summary>Gets the blocking task's handle.</summary>
    public TaskHandle Handle { get; }

    private Signal ReleaseSignal { get; }

    /// <summary>Submits a task that waits for <see cref="Release"/>, and returns once it is running (its pending permit released).</summary>
    public static async Task<SlotBlocker> OccupyAsync(ITaskDispatcher dispatcher, TaskOptions? options = null)
    {
        var started = new Signal();
        var release = new Signal();
        var handle = await dispatcher.SubmitAsync(
            async _ =>
            {
                started.Set();
                await release.WaitAsync();
            },
            options);
        await started.WaitAsync();
        return new SlotBlocker(handle, release);
    }

    /// <summary>Lets the blocking task finish.</summary>
    public void Release() => ReleaseSignal.Set();

    /// <summary>Lets the blocking task finish and waits until it has.</summary>
    public async Task ReleaseAndWaitAsync()
    {
        Release();
        await Handle.Completion.WaitAsync(TestTimeouts.Generous);
    }
}
