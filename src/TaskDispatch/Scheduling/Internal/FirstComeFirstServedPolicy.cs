using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>First come, first served: tasks run in the order they became ready.</summary>
/// <remarks>Enqueue and dequeue are O(1) without hashing; removal marks the entry dead and is reclaimed lazily,
/// amortized O(1).</remarks>
internal sealed class FirstComeFirstServedPolicy : ISchedulingPolicy, IStoreOrderedPolicy
{
    /// <summary>Entries in arrival order. An entry is live while its stamp equals the task's
    /// <see cref="TaskHandle.QueuePosition"/>; removing or dequeuing the task clears that, so stale entries are skipped.</summary>
    private readonly ChunkedQueue<(TaskHandle Task, long Stamp)> _queue = new();

    private QueueStamps _stamps;
    private int _deadEntries;

    /// <inheritdoc />
    double IStoreOrderedPolicy.SortKey(TaskHandle task) => 0;

    /// <inheritdoc />
    double? IStoreOrderedPolicy.FairShareWeight(string fairnessKey) => null;

    /// <inheritdoc />
    public int Count => _queue.Count - _deadEntries;

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        _queue.Enqueue((task, _stamps.Stamp(task, this)));
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        while (_queue.TryDequeue(out var entry))
        {
            if (QueueStamps.IsLive(entry.Task, entry.Stamp, this))
            {
                task = entry.Task;
                QueueStamps.Release(task);
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
        if (!QueueStamps.IsIn(task, this))
        {
            return false;
        }

        QueueStamps.Release(task);
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
            _queue.TryDequeue(out var entry);
            if (QueueStamps.IsLive(entry.Task, entry.Stamp, this))
            {
                _queue.Enqueue(entry);
            }
        }

        _deadEntries = 0;
    }
}
