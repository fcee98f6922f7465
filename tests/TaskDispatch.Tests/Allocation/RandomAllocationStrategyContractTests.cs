namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="RandomAllocationStrategy"/>.</summary>
[TestFixture]
public sealed class RandomAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new RandomAllocationStrategy(new Random(42));
}
