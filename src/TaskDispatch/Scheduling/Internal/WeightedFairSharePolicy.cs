using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Weighted fair share: tasks are grouped by <see cref="TaskOptions.FairnessKey"/> (a tenant, a queue) and the
/// backlogged keys take turns in proportion to their weights, in arrival order within a key. One noisy key cannot
/// starve the others.</summary>
/// <remarks>
/// Stride scheduling: every key has a virtual pass; the backlogged key with the lowest pass goes next and its pass grows
/// by <c>1 / weight</c>. A key that was idle restarts at the current pass, so idleness banks no credit and a returning
/// key cannot monopolise the dispatcher to catch up. While keys <c>i</c> and <c>j</c> stay backlogged, their turns
/// <c>sᵢ</c>, <c>sⱼ</c> keep <c>|sᵢ/wᵢ - sⱼ/wⱼ| ≤ max(1/wᵢ, 1/wⱼ)</c>, so each key's share tends to
/// <c>wᵢ / Σw</c>. O(log k + log n) per operation, for k keys and n tasks.
/// </remarks>
internal sealed class WeightedFairSharePolicy : ISchedulingPolicy, IStoreOrderedPolicy
{
    /// <summary>Dequeues between sweeps of idle keys, which keep memory bounded when keys are many and short-lived.</summary>
    private const int SweepInterval = 4096;

    private readonly Dictionary<string, double> _weights;
    private readonly double _defaultWeight;
    private readonly Dictionary<string, FairKey> _keys = new(StringComparer.Ordinal);

    /// <summary>Backlogged keys by pass; entries whose version is stale are skipped.</summary>
    private readonly PriorityQueue<(FairKey Key, long Version), (double Pass, long Order)> _turns = new();

    /// <summary>The pass of the key served last: where a key that returns from idleness starts.</summary>
    private double _currentPass;

    private long _order;
    private long _dequeues;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The settings; <see langword="null"/> for equal weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when a weight is not finite and positive.</exception>
    public WeightedFairSharePolicy(WeightedFairShareOptions? options = null)
    {
        options ??= new WeightedFairShareOptions();
        options.Validate();
        _weights = new Dictionary<string, double>(options.Weights, StringComparer.Ordinal);
        _defaultWeight = options.DefaultWeight;
    }

    /// <inheritdoc />
    double IStoreOrderedPolicy.SortKey(TaskHandle task) => 0;

    /// <inheritdoc />
    double? IStoreOrderedPolicy.FairShareWeight(string fairnessKey) => _weights.TryGetValue(fairnessKey, out var weight) ? weight : _defaultWeight;

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <inheritdoc />
    public void Enqueue(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var name = task.Options.FairnessKey ?? string.Empty;
        if (!_keys.TryGetValue(name, out var key))
        {
            key = new FairKey(_weights.TryGetValue(name, out var weight) ? weight : _defaultWeight);
            _keys.Add(name, key);
        }

        key.Tasks.Add(task, task.SequenceNumber);
        Count++;
        if (key.Tasks.Count == 1)
        {
            // Back from idle: start at the current pass, never behind it, so no credit was banked while away.
            key.Pass = Math.Max(key.Pass, _currentPass);
            ScheduleTurn(key);
        }
    }

    /// <inheritdoc />
    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        while (_turns.TryDequeue(out var turn, out _))
        {
            var key = turn.Key;
            if (turn.Version != key.Version || key.Tasks.Count == 0)
            {
                continue;
            }

            if (!key.Tasks.TryRemoveFirst(out task))
            {
                continue;
            }

            Count--;
            _currentPass = key.Pass;
            key.Pass += 1 / key.Weight;
            if (key.Tasks.Count > 0)
            {
                ScheduleTurn(key);
            }

            // After the served key's pass has grown: it owes its turn and must not be forgotten as idle.
            if (++_dequeues % SweepInterval == 0)
            {
                SweepIdleKeys();
            }

            return true;
        }

        task = null;
        return false;
    }

    /// <inheritdoc />
    public bool Remove(TaskHandle task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!_keys.TryGetValue(task.Options.FairnessKey ?? string.Empty, out var key) || !key.Tasks.Remove(task))
        {
            return false;
        }

        // An emptied key keeps its stale turn; TryDequeue skips it.
        Count--;
        return true;
    }

    /// <summary>Forgets idle keys that owe nothing: one returning later starts at the current pass, as it would anyway.</summary>
    private void SweepIdleKeys()
    {
        List<string>? idle = null;
        foreach (var (name, key) in _keys)
        {
            if (key.Tasks.Count == 0 && key.Pass <= _currentPass)
            {
                (idle ??= []).Add(name);
            }
        }

        if (idle is not null)
        {
            foreach (var name in idle)
            {
                _keys.Remove(name);
            }
        }
    }

    private void ScheduleTurn(FairKey key)
    {
        key.Version++;
        _turns.Enqueue((key, key.Version), (key.Pass, _order++));
    }

    private sealed class FairKey(double weight)
    {
        public double Weight { get; } = weight;

        public TaskHeap<long, SequenceOrder> Tasks { get; } = new();

        public double Pass { get; set; }

        public long Version { get; set; }
    }
}
