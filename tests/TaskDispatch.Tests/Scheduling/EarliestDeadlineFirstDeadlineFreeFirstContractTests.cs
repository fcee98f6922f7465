namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="EarliestDeadlineFirstPolicy"/> with tasks without a deadline first.</summary>
[TestFixture]
public sealed class EarliestDeadlineFirstDeadlineFreeFirstContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new EarliestDeadlineFirstPolicy(new EarliestDeadlineFirstOptions { TasksWithoutDeadline = DeadlineFreeTaskOrder.First });
}
