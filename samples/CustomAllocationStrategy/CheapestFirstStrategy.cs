using TaskDispatch;

/// <summary>Fill the cheapest nodes first: the lowest "cost" tag wins, spilling to dearer nodes only when they are full.
/// A whole custom strategy.</summary>
/// <remarks>The dispatcher offers only nodes that can take the task now; only its scheduler calls this, never concurrently.</remarks>
internal sealed class CheapestFirstStrategy : IAllocationStrategy
{
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
    {
        var best = -1;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (best < 0 || Cost(candidates[i]) < Cost(candidates[best]))
            {
                best = i;
            }
        }

        return best;
    }

    private static int Cost(NodeSnapshot node) =>
        node.Tags.Contains("spot") ? 1 : node.Tags.Contains("on-demand") ? 2 : 3;
}
