using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Shortest job first: the task expected to finish soonest runs next, which minimises mean waiting time.</summary>
/// <remarks>
/// A task's expected duration is its <see cref="TaskOptions.EstimatedDuration"/>; without one, the exponentially weighted
/// moving average of how long tasks of its <see cref="TaskHandle.Kind"/> ran (learned from every successful attempt);
/// before the kind's first observation, <see cref="ShortestJobFirstOptions.DefaultEstimate"/>.
/// <para>A given estimate is fixed when the task is queued. A learned one is read when the next task is chosen: tasks of a
/// learned kind wait in one queue per kind (by sequence number), and the kinds are ordered by their current estimate, so the first
/// completions of each kind reorder a backlog that was queued before anything was known (with every estimate fixed at
/// enqueue, a backlog queued at once would run in arrival order, exactly as FCFS).</para>
/// Ties run in arrival order. Long tasks can starve under a steady stream of short ones; combine with
/// <see cref="PriorityPolicy"/> aging through <see cref="PriorityBandsPolicy"/> if that matters. O(log n) per operation
/// in the tasks with given estimates, plus O(log k), amortized, in the learned kinds.
/// </remarks>
internal sealed class ShortestJobFirstPolicy : ILearningSchedulingPolicy, IStoreOrderedPolicy
{
    /// <summary>Tasks whose estimate is fixed when they are queued: given ones, or every one when learning is off.</summary>
    private readonly TaskHeap<(long EstimateTicks, long Sequence), AscendingComparer> _heap = new();

    /// <summary>Tasks of learned kinds, one arrival-ordered queue per kind.</summary>
    private readonly Dictionary<object, KindQueue> _kinds = [];

    /// <summary>The non-empty kinds by (current estimate, head's sequence). An entry is live while it carries its queue's
    /// version; a new estimate or a new head pushes a new entry, and stale ones are skipped or compacted away.</summary>
    private readonly PriorityQueue<(KindQueue Queue, int Version), (long EstimateTicks, long Sequence)> _kindOrder = new(default(AscendingComparer));

    private readonly Dictionary<object, double> _learnedTicks = [];
    private readonly ShortestJobFirstOptions _options;
    private int _learnedKindTasks;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when a setting is out of range.</exception>
    public ShortestJobFirstPolicy(ShortestJobFirstOptions? options = null)
    {
        _options = options ?? new ShortestJobFirstOptions();
        _options.Validate();
    }

    /// <inheritdoc />
    double IStoreOrderedPolicy.SortKey(TaskHandle task) => GetEstimate(task).Ticks;

    /// <inheritdoc />
    double? IStoreOrderedPolicy.FairShareWeight(string fairnessKey) => null;

    /// <inheritdoc />
    public int Count => _heap.Count + _learnedKindTasks;

    /// <summary>Gets the duration the policy expects of <paramref name="task"/>, as it would order the task now.</summary>
    /// <param name="task">The task.</param>
    /// <returns>The estimate.</returns>
    public TimeSpan GetEstimate(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Options.EstimatedDuration is { } given ? given : TimeSpan.FromTicks(LearnedTicks(task.KindKey));
    }

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Options.EstimatedDuration is not null || !_options.LearnEstimates)
        {
            _heap.Add(task, (GetEstimate(task).Ticks, task.SequenceNumber));
            return;
        }

        if (!_kinds.TryGetValue(task.KindKey, out var queue))
        {
            queue = new KindQueue(task.KindKey);
            _kinds.Add(task.KindKey, queue);
        }

        // A new head (an empty kind, or a retried task older than the head) re-keys the kind.
        var newHead = !queue.Tasks.TryPeekFirst(out _, out var headSequence) || task.SequenceNumber < headSequence;
        queue.Tasks.Add(task, task.SequenceNumber);
        _learnedKindTasks++;
        if (newHead)
        {
            Reorder(queue);
        }
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        var hasFixed = _heap.TryPeekFirst(out var fixedTask, out var fixedKey);
        if (TryPeekKind(out var queue, out var kindKey)
            && (!hasFixed || default(AscendingComparer).Compare(kindKey, fixedKey) < 0))
        {
            _kindOrder.Dequeue();
            queue.Tasks.TryRemoveFirst(out task);
            _learnedKindTasks--;
            Reorder(queue);
            return task is not null;
        }

        if (hasFixed)
        {
            _heap.TryRemoveFirst(out task);
            return task is not null;
        }

        task = null;
        return false;
    }

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.QueueOwner is TaskHeap<long, SequenceOrder> && _kinds.TryGetValue(task.KindKey, out var queue) && queue.Tasks.Remove(task))
        {
            // If it was its kind's head, the kind's entry is now stale: TryPeekKind re-keys it when it comes up.
            _learnedKindTasks--;
            return true;
        }

        return _heap.Remove(task);
    }

    /// <summary>Starts this policy with what <paramref name="other"/> has learned, for a policy created later than it.</summary>
    internal void LearnFrom(ShortestJobFirstPolicy other)
    {
        foreach (var (kind, ticks) in other._learnedTicks)
        {
            _learnedTicks.TryAdd(kind, ticks);
        }
    }

    /// <inheritdoc />
    public void OnAttemptSucceeded(TaskHandle task, TimeSpan processingTime)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!_options.LearnEstimates || processingTime < TimeSpan.Zero)
        {
            return;
        }

        var observed = (double)processingTime.Ticks;
        _learnedTicks[task.KindKey] = _learnedTicks.TryGetValue(task.KindKey, out var average)
            ? average + (_options.SmoothingFactor * (observed - average))
            : observed;

        // The kind's waiting tasks move to their new place at once.
        if (_kinds.TryGetValue(task.KindKey, out var queue))
        {
            Reorder(queue);
        }
    }

    private long LearnedTicks(object kind) =>
        _options.LearnEstimates && _learnedTicks.TryGetValue(kind, out var learned) ? (long)learned : _options.DefaultEstimate.Ticks;

    /// <summary>Gives <paramref name="queue"/> a new entry in the order of kinds, keyed by its current estimate and
    /// head; its older entries become stale.</summary>
    private void Reorder(KindQueue queue)
    {
        queue.Version++;
        if (queue.Tasks.TryPeekFirst(out _, out var headSequence))
        {
            _kindOrder.Enqueue((queue, queue.Version), (LearnedTicks(queue.Kind), headSequence));
            if (_kindOrder.Count > (4 * _kinds.Count) + 64)
            {
                CompactKindOrder();
            }
        }
    }

    /// <summary>Finds the kind whose head goes next, dropping stale entries and re-keying a kind whose head was removed.</summary>
    private bool TryPeekKind([MaybeNullWhen(false)] out KindQueue queue, out (long EstimateTicks, long Sequence) key)
    {
        while (_kindOrder.TryPeek(out var entry, out key))
        {
            queue = entry.Queue;
            if (entry.Version == queue.Version && queue.Tasks.TryPeekFirst(out _, out var headSequence))
            {
                if (headSequence == key.Sequence)
                {
                    return true;
                }

                _kindOrder.Dequeue();
                Reorder(queue);
                continue;
            }

            _kindOrder.Dequeue();
        }

        queue = null;
        key = default;
        return false;
    }

    /// <summary>Rebuilds the order of kinds with one entry per waiting kind, so that stale entries never pile up.</summary>
    private void CompactKindOrder()
    {
        _kindOrder.Clear();
        foreach (var queue in _kinds.Values)
        {
            queue.Version++;
            if (queue.Tasks.TryPeekFirst(out _, out var headSequence))
            {
                _kindOrder.Enqueue((queue, queue.Version), (LearnedTicks(queue.Kind), headSequence));
            }
        }
    }

    private readonly struct AscendingComparer : IComparer<(long EstimateTicks, long Sequence)>
    {
        public int Compare((long EstimateTicks, long Sequence) x, (long EstimateTicks, long Sequence) y)
        {
            var byEstimate = x.EstimateTicks.CompareTo(y.EstimateTicks);
            return byEstimate != 0 ? byEstimate : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
