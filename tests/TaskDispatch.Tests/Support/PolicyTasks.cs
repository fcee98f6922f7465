namespace TaskDispatch.Tests.Support;

/// <summary>Detached tasks for pure policy tests, with what the dispatcher would have set on submission:
/// the kind (from <see cref="TaskOptions.Kind"/>) and when the task became ready.</summary>
public static class PolicyTasks
{
    public static TaskHandle Create(TaskOptions? options = null, DateTimeOffset? readyAt = null, string? id = null)
    {
        options ??= TaskOptions.Default;
        var task = Tasks.Create(id, options);
        task.KindKey = options.Kind ?? string.Empty;
        task.ReadyAt = readyAt ?? DateTimeOffset.UnixEpoch;
        return task;
    }

    /// <summary>Dequeues everything, in the policy's order.</summary>
    public static List<TaskHandle> Drain(ISchedulingPolicy policy)
    {
        var result = new List<TaskHandle>();
        while (policy.TryDequeue(out var task))
        {
            result.Add(task);
        }

        return result;
    }
}
