namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="WeightedFairSharePolicy"/> with unequal weights.</summary>
[TestFixture]
public sealed class WeightedFairSharePolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new WeightedFairSharePolicy(CreateOptions());

    private static WeightedFairShareOptions CreateOptions()
    {
        var options = new WeightedFairShareOptions { DefaultWeight = 1 };
        options.Weights["tenant-a"] = 3;
        options.Weights["tenant-b"] = 0.5;
        options.Weights[string.Empty] = 2;
        return options;
    }
}
