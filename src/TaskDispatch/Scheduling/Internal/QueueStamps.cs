namespace TaskDispatch;

/// <summary>The stamp protocol the built-in queues share for O(1) removal: an entry is stamped into the task's queue
/// slot (<see cref="TaskHandle.QueuePosition"/>, with the queue as <see cref="TaskHandle.QueueOwner"/>); removing the
/// task clears the slot, which makes its entry stale, and a stale entry is skipped when it comes up.</summary>
internal struct QueueStamps
{
    /// <summary>The next stamp; stamps are never negative, so -1 always means "not queued".</summary>
    private long _next;

    /// <summary>Gives <paramref name="task"/> a fresh stamp in <paramref name="owner"/>.</summary>
    /// <exception cref="InvalidOperationException">Thrown when the task is already in a queue.</exception>
    internal long Stamp(TaskHandle task, object owner)
    {
        if (task.QueuePosition >= 0)
        {
            throw new InvalidOperationException($"Task '{task.Id}' is already queued.");
        }

        var stamp = _next;
        _next = (_next + 1) & long.MaxValue;
        task.QueuePosition = stamp;
        task.QueueOwner = owner;
        return stamp;
    }

    /// <summary>Tells whether an entry stamped <paramref name="stamp"/> is still <paramref name="task"/>'s place in <paramref name="owner"/>.</summary>
    internal static bool IsLive(TaskHandle task, long stamp, object owner) =>
        task.QueuePosition == stamp && ReferenceEquals(task.QueueOwner, owner);

    /// <summary>Tells whether <paramref name="task"/> is in <paramref name="owner"/> at all.</summary>
    internal static bool IsIn(TaskHandle task, object owner) => task.QueuePosition >= 0 && ReferenceEquals(task.QueueOwner, owner);

    /// <summary>Takes the task out of its queue: its entry, if any is left, becomes stale.</summary>
    internal static void Release(TaskHandle task)
    {
        task.QueuePosition = -1;
        task.QueueOwner = null;
    }
}
