using System.Diagnostics.CodeAnalysis;
using TaskDispatch;

/// <summary>Interactive work first, everything else after it; arrival order within each. A whole custom policy.</summary>
/// <remarks>Only the dispatcher's scheduler calls it, never concurrently: no locks needed.</remarks>
internal sealed class InteractiveFirstPolicy : ISchedulingPolicy
{
    private readonly SortedSet<TaskHandle> _queue = new(Comparer<TaskHandle>.Create(static (a, b) =>
        (Rank(a), a.SequenceNumber).CompareTo((Rank(b), b.SequenceNumber))));

    public int Count => _queue.Count;

    public void Enqueue(TaskHandle task) => _queue.Add(task);

    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        task = _queue.Min;
        return task is not null && _queue.Remove(task);
    }

    public bool Remove(TaskHandle task) => _queue.Remove(task);

    private static int Rank(TaskHandle task) => task.Kind == "interactive" ? 0 : 1;
}
