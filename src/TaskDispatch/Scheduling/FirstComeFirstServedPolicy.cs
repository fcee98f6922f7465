using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>First come, first served: tasks run in the order they became ready.</summary>
/// <remarks>Enqueue and dequeue are O(1); removal marks the task and is reclaimed lazily, amortized O(1).</remarks>
public sealed class FirstComeFirstServedPolicy : ISchedulingPolicy
{
    private readonly Queue<TaskHandle> _queue = new();

    /// <summary>Tasks removed while still inside <see cref="_queue"/>; skipped when they reach its head.</summary>
    private readonly HashSet<TaskHandle> _removed = new(ReferenceEqualityComparer.Instance);

    /// <summary>Tasks in <see cref="_queue"/> that have not been removed, so that removal cannot be counted twice.</summary>
    private readonly HashSet<TaskHandle> _members = new(ReferenceEqualityComparer.Instance);

    /// <inheritdoc />
    public int Count => _members.Count;

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!_members.Add(task))
        {
            throw new InvalidOperationException($"Task '{task.Id}' is already queued.");
        }

        // A task removed and enqueued again before its tombstone was reached: the old entry stays dead, this one lives.
        if (_removed.Contains(task))
        {
            Compact();
        }

        _queue.Enqueue(task);
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        while (_queue.TryDequeue(out task))
        {
            if (_removed.Count == 0 || !_removed.Remove(task))
            {
                _members.Remove(task);
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!_members.Remove(task))
        {
            return false;
        }

        _removed.Add(task);
        if (_removed.Count > 32 && _removed.Count > _members.Count)
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
            var task = _queue.Dequeue();
            if (!_removed.Remove(task))
            {
                _queue.Enqueue(task);
            }
        }

        _removed.Clear();
    }
}
