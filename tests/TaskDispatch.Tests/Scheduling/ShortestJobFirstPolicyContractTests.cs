namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="ShortestJobFirstPolicy"/> with its defaults.</summary>
[TestFixture]
public sealed class ShortestJobFirstPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new ShortestJobFirstPolicy();
}
