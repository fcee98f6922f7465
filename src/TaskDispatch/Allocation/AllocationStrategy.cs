namespace TaskDispatch;

/// <summary>Creates the built-in allocation strategies.</summary>
public static class AllocationStrategy
{
    /// <summary>Creates a round-robin strategy (the default).</summary>
    /// <returns>A new strategy instance, to be used by one dispatcher.</returns>
    public static IAllocationStrategy RoundRobin() => new RoundRobinAllocationStrategy();
}
