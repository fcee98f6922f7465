using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>A binary min-heap of tasks by key that knows where each task sits (<see cref="TaskHandle.QueuePosition"/>),
/// so removing a cancelled task is O(log n) rather than a scan. No allocation once the arrays have grown.</summary>
/// <typeparam name="TKey">The ordering key; it must order every pair of tasks (include the sequence number for FIFO ties).</typeparam>
/// <typeparam name="TComparer">Compares keys; a struct so that comparisons are inlined.</typeparam>
internal sealed class TaskHeap<TKey, TComparer>
    where TComparer : struct, IComparer<TKey>
{
    private TaskHandle[] _tasks = new TaskHandle[16];
    private TKey[] _keys = new TKey[16];

    internal int Count { get; private set; }

    internal void Add(TaskHandle task, TKey key)
    {
        if (task.QueuePosition >= 0)
        {
            throw new InvalidOperationException($"Task '{task.Id}' is already queued.");
        }

        if (Count == _tasks.Length)
        {
            Array.Resize(ref _tasks, Count * 2);
            Array.Resize(ref _keys, Count * 2);
        }

        task.QueueOwner = this;
        SiftUp(Count++, task, key);
    }

    internal bool TryPeek([MaybeNullWhen(false)] out TaskHandle task, [MaybeNullWhen(false)] out TKey key)
    {
        if (Count == 0)
        {
            task = null;
            key = default;
            return false;
        }

        task = _tasks[0];
        key = _keys[0];
        return true;
    }

    internal bool TryRemoveFirst([MaybeNullWhen(false)] out TaskHandle task)
    {
        if (Count == 0)
        {
            task = null;
            return false;
        }

        task = _tasks[0];
        RemoveAt(0);
        return true;
    }

    internal bool Remove(TaskHandle task)
    {
        var position = task.QueuePosition;
        if (!ReferenceEquals(task.QueueOwner, this) || position < 0 || position >= Count || !ReferenceEquals(_tasks[position], task))
        {
            return false;
        }

        RemoveAt((int)position);
        return true;
    }

    private void RemoveAt(int index)
    {
        _tasks[index].QueuePosition = -1;
        _tasks[index].QueueOwner = null;
        var last = --Count;
        var movedTask = _tasks[last];
        var movedKey = _keys[last];
        _tasks[last] = null!;
        _keys[last] = default!;
        if (index == last)
        {
            return;
        }

        // The moved entry may belong above or below the hole: try down, and if it did not move, up.
        if (!SiftDown(index, movedTask, movedKey))
        {
            SiftUp(index, movedTask, movedKey);
        }
    }

    private void SiftUp(int index, TaskHandle task, TKey key)
    {
        var comparer = default(TComparer);
        while (index > 0)
        {
            var parent = (index - 1) >> 1;
            if (comparer.Compare(key, _keys[parent]) >= 0)
            {
                break;
            }

            Place(index, _tasks[parent], _keys[parent]);
            index = parent;
        }

        Place(index, task, key);
    }

    /// <returns><see langword="true"/> if the entry moved down.</returns>
    private bool SiftDown(int index, TaskHandle task, TKey key)
    {
        var comparer = default(TComparer);
        var start = index;
        while (true)
        {
            var child = (index << 1) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && comparer.Compare(_keys[child + 1], _keys[child]) < 0)
            {
                child++;
            }

            if (comparer.Compare(_keys[child], key) >= 0)
            {
                break;
            }

            Place(index, _tasks[child], _keys[child]);
            index = child;
        }

        Place(index, task, key);
        return index != start;
    }

    private void Place(int index, TaskHandle task, TKey key)
    {
        Debug.Assert(index < Count, "Heap slots beyond Count are empty.");
        _tasks[index] = task;
        _keys[index] = key;
        task.QueuePosition = index;
    }
}
