using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>A binary min-heap of tasks by key, for the built-in ordered policies. Removal is lazy: a removed task's
/// entry is marked stale through its queue slot (<see cref="TaskHandle.QueuePosition"/> holds the entry's stamp) and is
/// skipped when it reaches the top, so that moving entries never touches the tasks themselves (only the heap's own
/// contiguous array) and removal is O(1). Stale entries are compacted away when they outnumber the live ones.</summary>
/// <typeparam name="TKey">The ordering key; ties must be broken inside it (by sequence number) for a stable order.</typeparam>
/// <typeparam name="TComparer">Compares keys; a struct so that comparisons are inlined.</typeparam>
internal sealed class TaskHeap<TKey, TComparer>
    where TComparer : struct, IComparer<TKey>
{
    /// <summary>Stale entries tolerated beyond the live ones before a removal compacts the heap.</summary>
    private const int CompactionSlack = 64;

    private Entry[] _entries = new Entry[16];

    /// <summary>Entries in the heap, stale ones included.</summary>
    private int _size;

    private QueueStamps _stamps;

    /// <summary>Gets the number of live tasks in the heap.</summary>
    internal int Count { get; private set; }

    internal void Add(TaskHandle task, TKey key)
    {
        var stamp = _stamps.Stamp(task, this);
        if (_size == _entries.Length)
        {
            Array.Resize(ref _entries, _size * 2);
        }

        SiftUp(_size++, new Entry(key, stamp, task));
        Count++;
    }

    /// <summary>Gets the first live task and its key without removing it.</summary>
    internal bool TryPeekFirst([MaybeNullWhen(false)] out TaskHandle task, out TKey key)
    {
        DropStaleTop();
        if (_size == 0)
        {
            task = null;
            key = default!;
            return false;
        }

        (task, key) = (_entries[0].Task, _entries[0].Key);
        return true;
    }

    internal bool TryRemoveFirst([MaybeNullWhen(false)] out TaskHandle task)
    {
        DropStaleTop();
        if (_size == 0)
        {
            task = null;
            return false;
        }

        task = _entries[0].Task;
        RemoveTop();
        Release(task);
        return true;
    }

    internal bool Remove(TaskHandle task)
    {
        if (!QueueStamps.IsIn(task, this))
        {
            return false;
        }

        // Its entry stays, stale, until it reaches the top or the heap is compacted.
        Release(task);
        if (_size > (2 * Count) + CompactionSlack)
        {
            Compact();
        }

        return true;
    }

    private bool IsLive(in Entry entry) => QueueStamps.IsLive(entry.Task, entry.Stamp, this);

    private void Release(TaskHandle task)
    {
        QueueStamps.Release(task);
        Count--;
    }

    private void DropStaleTop()
    {
        while (_size > 0 && !IsLive(_entries[0]))
        {
            RemoveTop();
        }
    }

    private void RemoveTop()
    {
        var last = --_size;
        var moved = _entries[last];
        _entries[last] = default;
        if (last > 0)
        {
            SiftDown(0, moved);
        }
    }

    /// <summary>Keeps only live entries and restores the heap order bottom-up, in O(n).</summary>
    private void Compact()
    {
        var kept = 0;
        for (var i = 0; i < _size; i++)
        {
            if (IsLive(_entries[i]))
            {
                _entries[kept++] = _entries[i];
            }
        }

        Array.Clear(_entries, kept, _size - kept);
        _size = kept;
        for (var i = (_size >> 1) - 1; i >= 0; i--)
        {
            SiftDown(i, _entries[i]);
        }
    }

    private void SiftUp(int index, Entry entry)
    {
        var comparer = default(TComparer);
        while (index > 0)
        {
            var parent = (index - 1) >> 1;
            if (comparer.Compare(entry.Key, _entries[parent].Key) >= 0)
            {
                break;
            }

            _entries[index] = _entries[parent];
            index = parent;
        }

        _entries[index] = entry;
    }

    private void SiftDown(int index, Entry entry)
    {
        var comparer = default(TComparer);
        while (true)
        {
            var child = (index << 1) + 1;
            if (child >= _size)
            {
                break;
            }

            if (child + 1 < _size && comparer.Compare(_entries[child + 1].Key, _entries[child].Key) < 0)
            {
                child++;
            }

            if (comparer.Compare(_entries[child].Key, entry.Key) >= 0)
            {
                break;
            }

            _entries[index] = _entries[child];
            index = child;
        }

        _entries[index] = entry;
    }

    /// <summary>One heap entry: the key, the stamp that tells whether the entry is still its task's, and the task.</summary>
    private readonly record struct Entry(TKey Key, long Stamp, TaskHandle Task);
}
