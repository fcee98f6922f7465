namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="PriorityBandsPolicy"/> with shortest-job-first inside each band.</summary>
[TestFixture]
public sealed class PriorityBandsShortestJobFirstContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => SchedulingPolicy.PriorityBands(static () => SchedulingPolicy.ShortestJobFirst());
}
