namespace TaskDispatch.Benchmarks;

/// <summary>Creates task handles that belong to no dispatcher, for benchmarks that drive a scheduling policy directly
/// (as tests/TaskDispatch.Tests/Support/Tasks.cs does). Such handles are never run.</summary>
internal static class DetachedTasks
{
    private static readonly Func<TaskContext, object?, ValueTask> s_noWork = static (_, _) => ValueTask.CompletedTask;

    /// <summary>Creates a handle as <c>TaskDispatcher</c> would accept it: <see cref="TaskHandle.ReadyAt"/> set, and the
    /// kind key taken from <see cref="TaskOptions.Kind"/> (a bare constructor leaves it empty, so learning policies would
    /// put every detached task in one kind).</summary>
    /// <param name="options">The task's options.</param>
    /// <param name="sequence">The arrival number; lower runs first among equals.</param>
    /// <param name="readyAt">When the task became ready.</param>
    /// <returns>The handle.</returns>
    internal static TaskHandle Create(TaskOptions options, long sequence, DateTimeOffset readyAt)
    {
        // One shared id: policies never look tasks up by id, and 1,000,000 distinct strings would only slow the setup.
        var task = new ActionTaskHandle(null!, "detached", options, sequence, readyAt, s_noWork, null)
        {
            ReadyAt = readyAt,
        };
        if (options.Kind is { } kind)
        {
            task.KindKey = kind;
        }

        return task;
    }
}
