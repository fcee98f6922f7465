namespace TaskDispatch.Tests.Support;

/// <summary>Detached tasks for pure policy tests, with the fields the dispatcher sets on submission filled in:
/// <see cref="TaskHandle.ReadyAt"/> (aging counts from it) and the kind key (shortest-job-first learns per kind).</summary>
public static class PolicyTasks
{
    /// <summary>A fixed, realistic point in time (ticks since the Unix epoch need 54 bits, as they do in production).</summary>
    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly TaskOptions[] s_mixed = BuildMixedOptions();

    /// <summary>Gets a pool of options that differ in every field a built-in policy orders by.</summary>
    public static IReadOnlyList<TaskOptions> MixedOptions => s_mixed;

    /// <summary>Creates a detached task, ready at <paramref name="readyAt"/> (default <see cref="Epoch"/>), whose kind key is
    /// <see cref="TaskOptions.Kind"/> as the dispatcher would set it.</summary>
    public static TaskHandle Create(TaskOptions? options = null, DateTimeOffset? readyAt = null, string? id = null)
    {
        options ??= TaskOptions.Default;
        var task = Tasks.Create(id, options);
        task.ReadyAt = readyAt ?? Epoch;
        task.KindKey = options.Kind ?? string.Empty;
        return task;
    }

    /// <summary>Creates the <paramref name="index"/>-th task of a mix: options cycle through <see cref="MixedOptions"/> and
    /// the ready time through a few seconds, so that every built-in policy's ordering has something to order.</summary>
    /// <remarks>Cheap enough for a million tasks: the options are shared and, with <paramref name="id"/>, no id is formatted.</remarks>
    public static TaskHandle CreateMixed(int index, string? id = null) =>
        Create(s_mixed[index % s_mixed.Length], Epoch + TimeSpan.FromMilliseconds(index % 11 * 250), id);

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

    private static TaskOptions[] BuildMixedOptions()
    {
        int[] priorities = [0, 3, -1, 1, 7, 0, 2];
        TimeSpan?[] estimates =
        [
            null, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromMilliseconds(50),
            null, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(10),
        ];
        DateTimeOffset?[] deadlines =
        [
            null, Epoch + TimeSpan.FromSeconds(5), Epoch + TimeSpan.FromSeconds(1), null, Epoch - TimeSpan.FromSeconds(1),
        ];
        string?[] fairnessKeys = [null, "tenant-a", "tenant-b", string.Empty, "tenant-c", "tenant-a", "tenant-d", "tenant-b", "tenant-e"];
        string?[] kinds = [null, "fast", "slow"];

        // 7 × 8 × 5 × 9 × 3 share no common cycle shorter than their least common multiple, so 2,520 distinct mixes.
        var options = new TaskOptions[2_520];
        for (var i = 0; i < options.Length; i++)
        {
            options[i] = new TaskOptions
            {
                Priority = priorities[i % priorities.Length],
                EstimatedDuration = estimates[i % estimates.Length],
                Deadline = deadlines[i % deadlines.Length],
                FairnessKey = fairnessKeys[i % fairnessKeys.Length],
                Kind = kinds[i % kinds.Length],
            };
        }

        return options;
    }
}
