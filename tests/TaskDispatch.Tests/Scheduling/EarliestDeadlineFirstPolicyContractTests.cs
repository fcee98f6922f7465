namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for <see cref="EarliestDeadlineFirstPolicy"/> with tasks without a deadline last (the default).</summary>
[TestFixture]
public sealed class EarliestDeadlineFirstPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new EarliestDeadlineFirstPolicy(new EarliestDeadlineFirstOptions { TasksWithoutDeadline = DeadlineFreeTaskOrder.Last });
}
