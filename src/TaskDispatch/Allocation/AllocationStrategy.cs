namespace TaskDispatch;

/// <summary>Creates the built-in allocation strategies. Each call returns a new instance, to be used by one dispatcher.</summary>
public static class AllocationStrategy
{
    /// <summary>Creates a round-robin strategy (the default).</summary>
    /// <returns>The strategy.</returns>
    public static IAllocationStrategy RoundRobin() => new RoundRobinAllocationStrategy();

    /// <summary>Creates a uniform random strategy.</summary>
    /// <param name="random">The generator; pass <c>new Random(seed)</c> to reproduce a run.</param>
    /// <returns>The strategy.</returns>
    public static IAllocationStrategy Random(Random? random = null) => new RandomAllocationStrategy(random);

    /// <summary>Creates a strategy that picks nodes with probability proportional to their weight.</summary>
    /// <param name="random">The generator; pass <c>new Random(seed)</c> to reproduce a run.</param>
    /// <returns>The strategy.</returns>
    public static IAllocationStrategy WeightedRandom(Random? random = null) => new WeightedRandomAllocationStrategy(random);

    /// <summary>Creates a strategy that picks the least loaded node.</summary>
    /// <returns>The strategy.</returns>
    public static IAllocationStrategy LeastLoaded() => new LeastLoadedAllocationStrategy();

    /// <summary>Creates a power-of-two-choices strategy.</summary>
    /// <param name="random">The generator; pass <c>new Random(seed)</c> to reproduce a run.</param>
    /// <returns>The strategy.</returns>
    public static IAllocationStrategy PowerOfTwoChoices(Random? random = null) => new PowerOfTwoChoicesAllocationStrategy(random);

    /// <summary>Creates a resource-fit strategy.</summary>
    /// <param name="mode">Best fit or spread.</param>
    /// <returns>The strategy.</returns>
    public static IAllocationStrategy ResourceFit(ResourceFitMode mode = ResourceFitMode.BestFit) => new ResourceFitAllocationStrategy(mode);
}
