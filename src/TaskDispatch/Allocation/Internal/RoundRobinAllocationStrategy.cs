namespace TaskDispatch;

/// <summary>Round-robin: cycles over the nodes in order, skipping those that cannot take the task now.</summary>
/// <remarks>When every node is eligible the rotation is exact: node 0, 1, …, n-1, 0, …. O(candidates) per decision.</remarks>
internal sealed class RoundRobinAllocationStrategy : IAllocationStrategy
{
    /// <summary>The <see cref="NodeSnapshot.Index"/> the rotation continues from.</summary>
    private int _next;

    /// <inheritdoc />
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
    {
        if (candidates.IsEmpty)
        {
            return -1;
        }

        // Candidates come in node order: take the first at or after the cursor, else wrap to the first.
        var chosen = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (candidates[i].Index >= _next)
            {
                chosen = i;
                break;
            }
        }

        _next = candidates[chosen].Index + 1;
        return chosen;
    }
}
