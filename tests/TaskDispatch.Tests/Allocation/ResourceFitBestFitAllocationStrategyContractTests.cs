namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="ResourceFitAllocationStrategy"/> in <see cref="ResourceFitMode.BestFit"/> mode.</summary>
[TestFixture]
public sealed class ResourceFitBestFitAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new ResourceFitAllocationStrategy(ResourceFitMode.BestFit);

    [Test]
    public void SelectNode_SameInputRepeated_ReturnsSameIndex() => AssertRepeatedCallsAgree();
}
