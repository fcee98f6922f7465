namespace TaskDispatch;

/// <summary>Power of two choices: sample two eligible nodes at random and take the less loaded one. Nearly the balance
/// of least-loaded at the cost of random (the result behind Sparrow and Orleans' placement).</summary>
/// <remarks>O(1) per decision. Seed the <see cref="Random"/> for reproducible runs.</remarks>
internal sealed class PowerOfTwoChoicesAllocationStrategy : IAllocationStrategy
{
    private readonly Random _random;

    /// <summary>Creates the strategy.</summary>
    /// <param name="random">The generator; <see langword="null"/> for a new unseeded one. Pass <c>new Random(seed)</c> to reproduce a run.</param>
    public PowerOfTwoChoicesAllocationStrategy(Random? random = null)
    {
        _random = random ?? new Random();
    }

    /// <inheritdoc />
    public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
    {
        switch (candidates.Length)
        {
            case 0:
                return -1;
            case 1:
                return 0;
        }

        var first = _random.Next(candidates.Length);

        // A second, distinct node: draw from the others and skip over the first.
        var second = _random.Next(candidates.Length - 1);
        if (second >= first)
        {
            second++;
        }

        return candidates[second].Load < candidates[first].Load ? second : first;
    }
}
