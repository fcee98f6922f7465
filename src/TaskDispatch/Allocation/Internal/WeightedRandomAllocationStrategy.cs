namespace TaskDispatch;

/// <summary>Weighted random: an eligible node is chosen with probability proportional to its
/// <see cref="NodeOptions.Weight"/>; a node of weight 0 is never chosen.</summary>
/// <remarks>
/// One pass over the candidates (their weights change as nodes fill up, so a precomputed table would be stale): O(c)
/// for c eligible nodes, a few nanoseconds each. When every eligible node weighs 0 the task waits for another node.
/// The dispatcher refuses to start with this strategy if every node weighs 0.
/// </remarks>
internal sealed class WeightedRandomAllocationStrategy : IAllocationStrategy
{
    private readonly Random _random;

    /// <summary>Creates the strategy.</summary>
    /// <param name="random">The generator; <see langword="null"/> for a new unseeded one. Pass <c>new Random(seed)</c> to reproduce a run.</param>
    public WeightedRandomAllocationStrategy(Random? random = null)
    {
        _random = random ?? new Random();
    }

    /// <inheritdoc />
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
    {
        var total = 0.0;
        foreach (var node in candidates)
        {
            total += node.Weight;
        }

        if (!(total > 0))
        {
            return -1;
        }

        var target = _random.NextDouble() * total;
        var last = -1;
        for (var i = 0; i < candidates.Length; i++)
        {
            var weight = candidates[i].Weight;
            if (weight <= 0)
            {
                continue;
            }

            last = i;
            target -= weight;
            if (target < 0)
            {
                return i;
            }
        }

        // Rounding left a sliver past the end: it belongs to the last node with weight.
        return last;
    }
}
