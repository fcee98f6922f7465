using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>A binary min-heap of tasks by key, for the built-in ordered policies. Removal is lazy: a removed task's
/// entry is marked stale through its queue slot (<see cref="TaskHandle.QueuePosition"/> holds the entry's stamp) and is
/// skipped when it reaches the top, so that moving entries never touches the tasks themselves (only the heap's own
/// chunks, each contiguous) and removal is O(1). Stale entries are compacted away when they outnumber the live ones.</summary>
/// <typeparam name="TKey">The ordering key; ties must be broken inside it (by sequence number) for a stable order.</typeparam>
/// <typeparam name="TComparer">Compares keys; a struct so that comparisons are inlined.</typeparam>
internal sealed class TaskHeap<TKey, TComparer>
    where TComparer : struct, IComparer<TKey>
{
    /// <summary>Stale entries tolerated beyond the live ones before a removal compacts the heap.</summary>
    private const int CompactionSlack = 64;

    /// <summary>The entries; a mutable struct, so not <see langword="readonly"/>.</summary>
    private ChunkedArray<Entry> _entries = new();

    /// <summary>Entries in the heap, stale ones included.</summary>
    private int _size;

    private QueueStamps _stamps;

    /// <summary>Gets the number of live tasks in the heap.</summary>
    internal int Count { get; private set; }

    internal void Add(TaskHandle task, TKey key)
    {
        var stamp = _stamps.Stamp(task, this);
        if (_size == _entries.Capacity)
        {
            _entries.Grow();
        }

        var entry = new Entry(key, stamp, task);
        if (_entries.SingleChunk is { } array)
        {
            SiftUp(new ArrayStore(array), _size++, entry);
        }
        else
        {
            SiftUp(new ChunkStore(_entries), _size++, entry);
        }
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

        (task, key) = (_entries.FirstChunk[0].Task, _entries.FirstChunk[0].Key);
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

        task = _entries.FirstChunk[0].Task;
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
        while (_size > 0 && !IsLive(_entries.FirstChunk[0]))
        {
            RemoveTop();
        }
    }

    /// <summary>Removes the root. The hole it leaves goes down to a leaf along the smaller children, one comparison per
    /// level, and the last entry then rises from there: it came from the bottom, so it seldom rises far, and this takes
    /// about half the comparisons of sifting it down from the root, each a branch hard to predict.</summary>
    private void RemoveTop()
    {
        var last = --_size;
        var moved = _entries[last];
        _entries[last] = default;
        if (last == 0)
        {
            return;
        }

        if (_entries.SingleChunk is { } array)
        {
            SiftUp(new ArrayStore(array), HoleToLeaf(new ArrayStore(array)), moved);
        }
        else
        {
            SiftUp(new ChunkStore(_entries), HoleToLeaf(new ChunkStore(_entries)), moved);
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

        _entries.Clear(kept, _size - kept);
        _size = kept;
        for (var i = (_size >> 1) - 1; i >= 0; i--)
        {
            SiftDown(new ChunkStore(_entries), i, _entries[i]);
        }
    }

    /// <summary>Moves the hole at the root down to a leaf along the smaller children and returns where it ends.</summary>
    private int HoleToLeaf<TStore>(TStore entries)
        where TStore : struct, IEntryStore
    {
        var comparer = default(TComparer);
        var hole = 0;
        while (true)
        {
            var child = (hole << 1) + 1;
            if (child >= _size)
            {
                return hole;
            }

            if (child + 1 < _size && comparer.Compare(entries[child + 1].Key, entries[child].Key) < 0)
            {
                child++;
            }

            entries[hole] = entries[child];
            hole = child;
        }
    }

    private static void SiftUp<TStore>(TStore entries, int index, Entry entry)
        where TStore : struct, IEntryStore
    {
        var comparer = default(TComparer);
        while (index > 0)
        {
            var parent = (index - 1) >> 1;
            if (comparer.Compare(entry.Key, entries[parent].Key) >= 0)
            {
                break;
            }

            entries[index] = entries[parent];
            index = parent;
        }

        entries[index] = entry;
    }

    private void SiftDown<TStore>(TStore entries, int index, Entry entry)
        where TStore : struct, IEntryStore
    {
        var comparer = default(TComparer);
        while (true)
        {
            var child = (index << 1) + 1;
            if (child >= _size)
            {
                break;
            }

            if (child + 1 < _size && comparer.Compare(entries[child + 1].Key, entries[child].Key) < 0)
            {
                child++;
            }

            if (comparer.Compare(entries[child].Key, entry.Key) >= 0)
            {
                break;
            }

            entries[index] = entries[child];
            index = child;
        }

        entries[index] = entry;
    }

    /// <summary>The entries as the sift loops see them. The loops are compiled once for a heap that fits one array (the
    /// usual case, at the cost of a plain array) and once for a chunked one, so the chunks' extra indirection is paid only
    /// by heaps large enough to need it.</summary>
    private interface IEntryStore
    {
        ref Entry this[int index] { get; }
    }

    private readonly struct ArrayStore(Entry[] entries) : IEntryStore
    {
        public ref Entry this[int index] => ref entries[index];
    }

    private readonly struct ChunkStore(ChunkedArray<Entry> entries) : IEntryStore
    {
        public ref Entry this[int index] => ref entries[index];
    }

    /// <summary>One heap entry: the key, the stamp that tells whether the entry is still its task's, and the task.</summary>
    private readonly record struct Entry(TKey Key, long Stamp, TaskHandle Task);
}
