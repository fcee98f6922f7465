using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Earliest deadline first: the task whose <see cref="TaskOptions.Deadline"/> comes soonest runs next; arrival
/// order among equal deadlines and among tasks without one.</summary>
/// <remarks>
/// On one node that is not overloaded, EDF meets every deadline that any order could meet. Under overload it degrades
/// badly (every task can end up late), so pair it with <see cref="TaskDispatcherOptions.FailExpiredDeadlines"/> to shed
/// work that is already late. O(log n) per operation.
/// </remarks>
internal sealed class EarliestDeadlineFirstPolicy : ISchedulingPolicy, IStoreOrderedPolicy
{
    private readonly TaskHeap<(int Group, long DeadlineTicks, long Sequence), EarliestFirst> _heap = new();
    private readonly int _deadlineFreeGroup;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when a setting is out of range.</exception>
    public EarliestDeadlineFirstPolicy(EarliestDeadlineFirstOptions? options = null)
    {
        options ??= new EarliestDeadlineFirstOptions();
        options.Validate();
        _deadlineFreeGroup = options.TasksWithoutDeadline == DeadlineFreeTaskOrder.First ? 0 : 2;
    }

    /// <inheritdoc />
    double IStoreOrderedPolicy.SortKey(TaskHandle task) => task.Options.Deadline is { } deadline
        ? deadline.UtcTicks
        : _deadlineFreeGroup == 0 ? double.MinValue : double.MaxValue;

    /// <inheritdoc />
    double? IStoreOrderedPolicy.FairShareWeight(string fairnessKey) => null;

    /// <inheritdoc />
    public int Count => _heap.Count;

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var key = task.Options.Deadline is { } deadline
            ? (1, deadline.UtcTicks, task.SequenceNumber)
            : (_deadlineFreeGroup, 0L, task.SequenceNumber);
        _heap.Add(task, key);
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task) => _heap.TryRemoveFirst(out task);

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return _heap.Remove(task);
    }

    private readonly struct EarliestFirst : IComparer<(int Group, long DeadlineTicks, long Sequence)>
    {
        public int Compare((int Group, long DeadlineTicks, long Sequence) x, (int Group, long DeadlineTicks, long Sequence) y)
        {
            var result = x.Group.CompareTo(y.Group);
            if (result == 0)
            {
                result = x.DeadlineTicks.CompareTo(y.DeadlineTicks);
            }

            return result != 0 ? result : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
