namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="PowerOfTwoChoicesAllocationStrategy"/>.</summary>
[TestFixture]
public sealed class PowerOfTwoChoicesAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new PowerOfTwoChoicesAllocationStrategy(new Random(42));
}
