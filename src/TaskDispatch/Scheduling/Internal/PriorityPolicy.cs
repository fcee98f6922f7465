using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Priority: the task with the highest <see cref="TaskOptions.Priority"/> runs next (higher values first), in
/// arrival order within a priority; optionally with aging so that waiting tasks rise and none starves.</summary>
/// <remarks>
/// With <see cref="PriorityPolicyOptions.AgingInterval"/> = <c>I</c>, a task's effective priority is
/// <c>Priority + (now - ReadyAt) / I</c>. Every task ages at the same rate, so the order between two waiting tasks
/// never changes over time: it is the order of <c>Priority - ReadyAt / I</c>, fixed at enqueue, and the policy needs no
/// clock and no re-sorting. O(log n) per operation.
/// </remarks>
internal sealed class PriorityPolicy : ISchedulingPolicy, IStoreOrderedPolicy
{
    private readonly TaskHeap<(double Score, long Sequence), HighestScoreFirst> _heap = new();
    private readonly double _levelsPerTick;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The settings; <see langword="null"/> for strict priority without aging.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when a setting is out of range.</exception>
    public PriorityPolicy(PriorityPolicyOptions? options = null)
    {
        options ??= new PriorityPolicyOptions();
        options.Validate();
        _levelsPerTick = options.AgingInterval is { } interval ? 1.0 / interval.Ticks : 0;
    }

    /// <inheritdoc />
    /// <remarks>Higher priorities first; aging applies to what a node has leased, not to the store's order.</remarks>
    double IStoreOrderedPolicy.SortKey(TaskHandle task) => -task.Options.Priority;

    /// <inheritdoc />
    double? IStoreOrderedPolicy.FairShareWeight(string fairnessKey) => null;

    /// <inheritdoc />
    public int Count => _heap.Count;

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);

        // Ticks since the Unix epoch keep the score's precision near 0.1 microseconds of waiting.
        var readyTicks = (double)(task.ReadyAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);
        _heap.Add(task, (task.Options.Priority - (readyTicks * _levelsPerTick), task.SequenceNumber));
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task) => _heap.TryRemoveFirst(out task);

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return _heap.Remove(task);
    }

    private readonly struct HighestScoreFirst : IComparer<(double Score, long Sequence)>
    {
        public int Compare((double Score, long Sequence) x, (double Score, long Sequence) y)
        {
            var byScore = y.Score.CompareTo(x.Score);
            return byScore != 0 ? byScore : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
