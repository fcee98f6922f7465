namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="PriorityBandsPolicy"/> with weighted fair share inside each band.</summary>
[TestFixture]
public sealed class PriorityBandsPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => SchedulingPolicy.PriorityBands(static () => SchedulingPolicy.WeightedFairShare());
}
