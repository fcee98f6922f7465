using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Composes policies: tasks are split into bands by <see cref="TaskOptions.Priority"/>, the highest
/// non-empty band always goes first, and inside a band a policy of your choice orders the tasks — fair share among
/// tenants within a priority, or shortest-job-first within a priority.</summary>
/// <remarks>
/// One inner policy is created per distinct priority, on first use, by the factory. Learning inner policies hear about
/// every finished attempt, whatever its band, and a shortest-job-first band created late starts with what the first
/// band learned. O(log b) plus the inner policy's cost, for b bands.
/// </remarks>
internal sealed class PriorityBandsPolicy : ILearningSchedulingPolicy
{
    private readonly Func<ISchedulingPolicy> _bandPolicyFactory;
    private readonly Dictionary<int, ISchedulingPolicy> _bands = [];

    /// <summary>The first learning band, which has heard of every finished attempt.</summary>
    private ILearningSchedulingPolicy? _eldestLearner;

    /// <summary>Non-empty bands, highest priority first.</summary>
    private readonly SortedSet<int> _backlogged = new(Comparer<int>.Create(static (x, y) => y.CompareTo(x)));

    /// <summary>Creates the policy.</summary>
    /// <param name="bandPolicyFactory">Creates the policy of one band; it must return a new instance on every call.</param>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="bandPolicyFactory"/> is null.</exception>
    public PriorityBandsPolicy(Func<ISchedulingPolicy> bandPolicyFactory)
    {
        ArgumentNullException.ThrowIfNull(bandPolicyFactory);
        _bandPolicyFactory = bandPolicyFactory;
    }

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var priority = task.Options.Priority;
        if (!_bands.TryGetValue(priority, out var band))
        {
            band = _bandPolicyFactory() ?? throw new InvalidOperationException("The band policy factory returned null.");
            foreach (var existing in _bands.Values)
            {
                if (ReferenceEquals(existing, band))
                {
                    throw new InvalidOperationException("The band policy factory returned an instance it had returned before; each band needs its own.");
                }
            }

            // A shortest-job-first band created now starts with what the oldest one learned: it has heard of every
            // finished attempt, because the first band exists before any task can finish.
            if (band is ShortestJobFirstPolicy newcomer && _eldestLearner is ShortestJobFirstPolicy eldest)
            {
                newcomer.LearnFrom(eldest);
            }

            _eldestLearner ??= band as ILearningSchedulingPolicy;
            _bands.Add(priority, band);
        }

        band.Enqueue(task);
        Count++;
        _backlogged.Add(priority);
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        while (_backlogged.Count > 0)
        {
            var priority = _backlogged.Min;
            var band = _bands[priority];
            if (band.TryDequeue(out task))
            {
                Count--;
                if (band.Count == 0)
                {
                    _backlogged.Remove(priority);
                }

                return true;
            }

            _backlogged.Remove(priority);
        }

        task = null;
        return false;
    }

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var priority = task.Options.Priority;
        if (!_bands.TryGetValue(priority, out var band) || !band.Remove(task))
        {
            return false;
        }

        Count--;
        if (band.Count == 0)
        {
            _backlogged.Remove(priority);
        }

        return true;
    }

    /// <inheritdoc />
    public void OnAttemptSucceeded(TaskHandle task, TimeSpan processingTime)
    {
        foreach (var band in _bands.Values)
        {
            (band as ILearningSchedulingPolicy)?.OnAttemptSucceeded(task, processingTime);
        }
    }
}
