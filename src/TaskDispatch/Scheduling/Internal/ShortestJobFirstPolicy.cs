using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Shortest job first: the task expected to finish soonest runs next, which minimises mean waiting time.</summary>
/// <remarks>
/// A task's expected duration is its <see cref="TaskOptions.EstimatedDuration"/>; without one, the exponentially weighted
/// moving average of how long tasks of its <see cref="TaskHandle.Kind"/> ran (learned from every successful attempt);
/// before the kind's first observation, <see cref="ShortestJobFirstOptions.DefaultEstimate"/>. The estimate is fixed when
/// the task is queued. Ties run in arrival order. Long tasks can starve under a steady stream of short ones; combine with
/// <see cref="PriorityPolicy"/> aging through <see cref="PriorityBandsPolicy"/> if that matters. O(log n) per operation.
/// </remarks>
internal sealed class ShortestJobFirstPolicy : ILearningSchedulingPolicy, IStoreOrderedPolicy
{
    private readonly TaskHeap<(long EstimateTicks, long Sequence), AscendingComparer> _heap = new();
    private readonly Dictionary<object, double> _learnedTicks = [];
    private readonly ShortestJobFirstOptions _options;

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
    public int Count => _heap.Count;

    /// <summary>Gets the duration the policy expects of <paramref name="task"/>, as it would order the task now.</summary>
    /// <param name="task">The task.</param>
    /// <returns>The estimate.</returns>
    public TimeSpan GetEstimate(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Options.EstimatedDuration is { } given)
        {
            return given;
        }

        return _options.LearnEstimates && _learnedTicks.TryGetValue(task.KindKey, out var learned)
            ? TimeSpan.FromTicks((long)learned)
            : _options.DefaultEstimate;
    }

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        _heap.Add(task, (GetEstimate(task).Ticks, task.SequenceNumber));
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task) => _heap.TryRemoveFirst(out task);

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
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
