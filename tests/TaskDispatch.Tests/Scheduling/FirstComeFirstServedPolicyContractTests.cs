namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="FirstComeFirstServedPolicy"/>.</summary>
[TestFixture]
public sealed class FirstComeFirstServedPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new FirstComeFirstServedPolicy();
}
