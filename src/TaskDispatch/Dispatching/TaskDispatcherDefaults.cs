namespace TaskDispatch;

/// <summary>The defaults the dispatcher uses where a setting is not given.</summary>
public static class TaskDispatcherDefaults
{
    /// <summary>The name of the dispatcher registered by <c>AddTaskDispatch()</c> without a name: <c>"default"</c>.</summary>
    public const string Name = "default";

    /// <summary>The name of the node added when none is configured: <c>"default"</c>.</summary>
    public const string NodeName = "default";

    /// <summary>The prefix of generated task ids, <c>"~"</c>; caller-given ids may not start with it.</summary>
    public const string GeneratedIdPrefix = "~";

    /// <summary>The default bound on tasks that are accepted but not yet running: 10,000.</summary>
    public const int MaxPendingTasks = 10_000;

    /// <summary>The default number of failed tasks kept in the dead letters: 1,000.</summary>
    public const int DeadLetterCapacity = 1_000;

    /// <summary>How many ended tasks a dispatcher keeps for lookup by id: 10,000.</summary>
    public const int MaxRetainedOutcomes = 10_000;

    /// <summary>How long a dispatcher keeps an ended task for lookup by id: one hour.</summary>
    public static readonly TimeSpan OutcomeRetention = TimeSpan.FromHours(1);

    /// <summary>The longest delay a timer can wait (about 49.7 days): the limit of <see cref="TaskOptions.Delay"/>,
    /// <see cref="TaskOptions.NotBefore"/> and retry delays.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The default time <c>DisposeAsync</c> gives running work before cancelling it: 30 seconds.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);
}
