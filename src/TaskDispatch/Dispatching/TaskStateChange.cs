namespace TaskDispatch;

/// <summary>One transition in a task's life, as seen by observers and watchers.</summary>
/// <remarks>
/// The terminal change of a task is delivered exactly once to each observer and watcher and is the last one a
/// per-task watcher sees. Non-terminal changes of one task raised on different threads (a cancellation racing an
/// assignment, say) may reach a global observer out of order.
/// </remarks>
public readonly struct TaskStateChange
{
    internal TaskStateChange(TaskHandle task, TaskState previous, TaskState state, DateTimeOffset timestamp, long version)
    {
        Task = task;
        Previous = previous;
        State = state;
        Timestamp = timestamp;
        Version = version;
    }

    /// <summary>Gets the task that changed.</summary>
    public TaskHandle Task { get; }

    /// <summary>Gets the state before the change; equal to <see cref="State"/> for the snapshot a watcher receives first.</summary>
    public TaskState Previous { get; }

    /// <summary>Gets the state after the change.</summary>
    public TaskState State { get; }

    /// <summary>Gets when the change happened, from the dispatcher's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Gets whether <see cref="State"/> is terminal.</summary>
    public bool IsTerminal => State.IsTerminal();

    /// <summary>A per-task counter that grows with every transition; lets a watcher drop stale or duplicate changes.</summary>
    internal long Version { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Task.Id}: {Previous} -> {State}";
}
