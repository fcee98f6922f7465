namespace TaskDispatch.Tests.Support;

/// <summary>Creates detached task handles for unit tests of pure policies, which never run them.</summary>
public static class Tasks
{
    private static long s_sequence;

    public static TaskHandle Create(string? id = null, TaskOptions? options = null)
    {
        var sequence = Interlocked.Increment(ref s_sequence);
        return new ActionTaskHandle(
            dispatcher: null!,
            id ?? $"t{sequence}",
            options ?? TaskOptions.Default,
            sequence,
            DateTimeOffset.UnixEpoch,
            static (_, _) => ValueTask.CompletedTask,
            state: null);
    }
}
