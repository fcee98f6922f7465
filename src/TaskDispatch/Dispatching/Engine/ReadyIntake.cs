namespace TaskDispatch;

/// <summary>The scheduler's intake of ready tasks: an intrusive multi-producer, single-consumer list threaded through the
/// tasks themselves, so that readying a task allocates nothing (a channel would allocate a slot per event, and its
/// segments double under a burst). Producers push with a compare-and-swap; the step takes the whole list at once and
/// reverses it, so tasks come out in the order they were readied.</summary>
internal sealed class ReadyIntake
{
    /// <summary>The most recently readied task; the rest follow through <see cref="TaskHandle.NextReady"/>, newest first.</summary>
    private TaskHandle? _head;

    /// <summary>Taken tasks still to hand out, oldest first; owned by the running step.</summary>
    private TaskHandle? _batch;

    /// <summary>Gets whether no readied task waits to be taken; read by posters and by a step that lets go.</summary>
    internal bool IsEmpty => Volatile.Read(ref _head) is null;

    /// <summary>Adds a ready task, unless it is in the intake already (its first entry stands).</summary>
    /// <returns><see langword="false"/> when the task was already waiting in the intake.</returns>
    internal bool Push(TaskHandle task)
    {
        if (!task.TryEnterReadyIntake())
        {
            return false;
        }

        while (true)
        {
            var head = Volatile.Read(ref _head);
            task.NextReady = head;
            if (Interlocked.CompareExchange(ref _head, task, head) == head)
            {
                return true;
            }
        }
    }

    /// <summary>Takes the oldest readied task; called only by the running step.</summary>
    internal bool TryTake([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskHandle? task)
    {
        if (_batch is null)
        {
            var taken = Interlocked.Exchange(ref _head, null);
            TaskHandle? reversed = null;
            while (taken is not null)
            {
                var next = taken.NextReady;
                taken.NextReady = reversed;
                reversed = taken;
                taken = next;
            }

            _batch = reversed;
        }

        task = _batch;
        if (task is null)
        {
            return false;
        }

        _batch = task.NextReady;
        task.NextReady = null;
        task.LeaveReadyIntake();
        return true;
    }
}
