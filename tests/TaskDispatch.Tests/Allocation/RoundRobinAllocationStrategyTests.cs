using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Allocation;

[TestFixture]
public sealed class RoundRobinAllocationStrategyTests
{
    [Test]
    public void SelectNode_AllNodesEligible_RotatesExactly()
    {
        var strategy = new RoundRobinAllocationStrategy();
        var nodes = Nodes(3);
        var picks = new int[3];

        for (var i = 0; i < 300; i++)
        {
            var chosen = strategy.SelectNode(Tasks.Create(), nodes);
            Assert.That(chosen, Is.EqualTo(i % 3));
            picks[chosen]++;
        }

        Assert.That(picks, Is.EqualTo(new[] { 100, 100, 100 }));
    }

    [Test]
    public void SelectNode_SomeNodesNotEligible_ContinuesRotationFromLastPick()
    {
        var strategy = new RoundRobinAllocationStrategy();
        var all = Nodes(4);

        Assert.That(all[strategy.SelectNode(Tasks.Create(), all)].Index, Is.EqualTo(0));

        // Nodes 1 and 2 are busy: the rotation skips to 3, then wraps to 0 and resumes at 1.
        NodeSnapshot[] some = [all[0], all[3]];
        Assert.That(some[strategy.SelectNode(Tasks.Create(), some)].Index, Is.EqualTo(3));
        Assert.That(some[strategy.SelectNode(Tasks.Create(), some)].Index, Is.EqualTo(0));
        Assert.That(all[strategy.SelectNode(Tasks.Create(), all)].Index, Is.EqualTo(1));
    }

    [Test]
    public void SelectNode_NoCandidates_ReturnsMinusOne()
    {
        var strategy = new RoundRobinAllocationStrategy();

        Assert.That(strategy.SelectNode(Tasks.Create(), ReadOnlySpan<NodeSnapshot>.Empty), Is.EqualTo(-1));
    }

    private static NodeSnapshot[] Nodes(int count) =>
        Enumerable.Range(0, count).Select(i => new NodeSnapshot($"n{i}", i, new NodeOptions())).ToArray();
}
