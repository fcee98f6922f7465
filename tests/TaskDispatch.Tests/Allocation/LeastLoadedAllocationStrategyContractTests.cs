namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="LeastLoadedAllocationStrategy"/>.</summary>
[TestFixture]
public sealed class LeastLoadedAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new LeastLoadedAllocationStrategy();
}
