namespace TaskDispatch;

/// <summary>Least loaded: the eligible node with the lowest <see cref="NodeSnapshot.Load"/> (slots in use over slots);
/// ties go round-robin, so equally loaded nodes share the work.</summary>
/// <remarks>O(c) for c eligible nodes.</remarks>
internal sealed class LeastLoadedAllocationStrategy : IAllocationStrategy
{
    /// <summary>Where the tie-breaking rotation continues, by <see cref="NodeSnapshot.Index"/>.</summary>
    private int _next;

    /// <inheritdoc />
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
    {
        if (candidates.IsEmpty)
        {
            return -1;
        }

        var best = -1;
        var bestLoad = double.MaxValue;
        var bestRotation = int.MaxValue;
        for (var i = 0; i < candidates.Length; i++)
        {
            var load = candidates[i].Load;

            // Distance from the rotation cursor, so that among equal loads the next in turn wins.
            var rotation = candidates[i].Index >= _next ? candidates[i].Index - _next : candidates[i].Index - _next + int.MaxValue;
            if (load < bestLoad || (load == bestLoad && rotation < bestRotation))
            {
                best = i;
                bestLoad = load;
                bestRotation = rotation;
            }
        }

        _next = candidates[best].Index + 1;
        return best;
    }
}
