namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="RoundRobinAllocationStrategy"/>.</summary>
[TestFixture]
public sealed class RoundRobinAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new RoundRobinAllocationStrategy();
}
