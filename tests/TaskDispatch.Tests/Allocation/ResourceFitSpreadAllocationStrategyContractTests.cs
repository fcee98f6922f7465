namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="ResourceFitAllocationStrategy"/> in <see cref="ResourceFitMode.Spread"/> mode.</summary>
[TestFixture]
public sealed class ResourceFitSpreadAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new ResourceFitAllocationStrategy(ResourceFitMode.Spread);

    [Test]
    public void SelectNode_SameInputRepeated_ReturnsSameIndex() => AssertRepeatedCallsAgree();
}
