namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for strict <see cref="PriorityPolicy"/> (no aging).</summary>
[TestFixture]
public sealed class PriorityPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new PriorityPolicy();
}
