namespace TaskDispatch;

/// <summary>Random: every eligible node is equally likely. Seed the <see cref="Random"/> for reproducible runs.</summary>
/// <remarks>O(1) per decision. Only the dispatcher's scheduler calls it, never concurrently, so the generator needs no lock.</remarks>
internal sealed class RandomAllocationStrategy : IAllocationStrategy
{
    private readonly Random _random;

    /// <summary>Creates the strategy.</summary>
    /// <param name="random">The generator; <see langword="null"/> for a new unseeded one. Pass <c>new Random(seed)</c> to reproduce a run.</param>
    public RandomAllocationStrategy(Random? random = null)
    {
        _random = random ?? new Random();
    }

    /// <inheritdoc />
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates) =>
        candidates.IsEmpty ? -1 : _random.Next(candidates.Length);
}
