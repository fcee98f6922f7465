using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>First come, first served: tasks run in the order they became ready.</summary>
/// <remarks>Enqueue and dequeue are O(1) without hashing; removal marks the entry dead and is reclaimed lazily,
/// amortized O(1).</remarks>
internal sealed class FirstComeFirstServedPolicy : ISchedulingPolicy
{
    /// <summary>Entries in arrival order. An entry is live while its stamp equals the task's
    /// <see cref="TaskHandle.QueuePosition"/>; removing or dequeuing the task clears that, so stale entries are skipped.</summary>
    private readonly Queue<(TaskHandle Task, long Stamp)> _queue = new();

    private long _nextStamp;
    private int _deadEntries;

    /// <inheritdoc />
    public int Count => _queue.Count - _deadEntries;

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.QueuePosition >= 0)
        {
            throw new InvalidOperationException($"Task '{task.Id}' is already queued.");
        }

        // Stamps are never negative, so -1 always means "not queued".
        var stamp = _nextStamp;
        _nextStamp = (_nextStamp + 1) & long.MaxValue;
        task.QueuePosition = stamp;
        task.QueueOwner = this;
        _queue.Enqueue((task, stamp));
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        while (_queue.TryDequeue(out var entry))
        {
            if (entry.Task.QueuePosition == entry.Stamp && ReferenceEquals(entry.Task.QueueOwner, this))
            {
                task = entry.Task;
                task.QueuePosition = -1;
                task.QueueOwner = null;
                return true;
            }

            _deadEntries--;
        }

        task = null;
        return false;
    }

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.QueuePosition < 0 || !ReferenceEquals(task.QueueOwner, this))
        {
            return false;
        }

        task.QueuePosition = -1;
        task.QueueOwner = null;
        _deadEntries++;
        if (_deadEntries > 32 && _deadEntries > _queue.Count / 2)
        {
            Compact();
        }

        return true;
    }

    /// <summary>Drops dead entries so that removed tasks never pile up behind a long-waiting head.</summary>
    private void Compact()
    {
        var count = _queue.Count;
        for (var i = 0; i < count; i++)
        {
            var entry = _queue.Dequeue();
            if (entry.Task.QueuePosition == entry.Stamp && ReferenceEquals(entry.Task.QueueOwner, this))
            {
                _queue.Enqueue(entry);
            }
        }

        _deadEntries = 0;
    }
}
