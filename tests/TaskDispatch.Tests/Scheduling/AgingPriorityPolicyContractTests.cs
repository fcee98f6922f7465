namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="PriorityPolicy"/> with aging.</summary>
[TestFixture]
public sealed class AgingPriorityPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new PriorityPolicy(new PriorityPolicyOptions { AgingInterval = TimeSpan.FromMilliseconds(500) });
}
