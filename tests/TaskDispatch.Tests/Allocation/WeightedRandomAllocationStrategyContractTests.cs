namespace TaskDispatch.Tests.Allocation;

/// <summary>The allocation-strategy contract for <see cref="WeightedRandomAllocationStrategy"/>.</summary>
[TestFixture]
public sealed class WeightedRandomAllocationStrategyContractTests : AllocationStrategyContractTests
{
    protected override IAllocationStrategy CreateStrategy() => new WeightedRandomAllocationStrategy(new Random(42));

    [Test]
    public void SelectNode_OneCandidateOfWeightZero_ReturnsMinusOne()
    {
        // Documented: when every eligible node weighs 0 the task waits for another node.
        var strategy = CreateStrategy();
        NodeSnapshot[] candidates = [new NodeSnapshot("zero", 0, new NodeOptions().WithConcurrency(1).WithWeight(0))];

        Assert.That(strategy.SelectNode(Support.Tasks.Create(), candidates), Is.EqualTo(-1));
    }
}
