using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

/// <summary>The recovery policy, not the engine, decides where a retry runs; one attempt limit, which the built-ins honour.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class RetryPlacementTests
{
    [Test]
    public async Task RetrySameNode_RoundRobinWouldMoveIt_EveryAttemptRunsOnTheFailedNode()
    {
        await using var dispatcher = BuildTwoNodes(new FixedDecisionPolicy(RecoveryDecision.RetrySameNode(), retries: 3));

        var handle = await dispatcher.SubmitAsync<string>(static context =>
            context.Attempt < 4 ? throw new InvalidOperationException("transient") : ValueTask.FromResult(context.NodeName));

        var node = await handle.Completion.WaitAsync(TestTimeouts.Generous);
        Assert.That(handle.AttemptFailures.Select(static f => f.NodeName), Is.All.EqualTo(node));
        Assert.That(handle.Attempts, Is.EqualTo(4));
    }

    [Test]
    public async Task RetryElsewhere_TaskFault_TheRetryAvoidsTheFailedNode()
    {
        await using var dispatcher = BuildTwoNodes(new FixedDecisionPolicy(RecoveryDecision.RetryElsewhere(), retries: 1), new FirstCandidateStrategy());

        var handle = await dispatcher.SubmitAsync<string>(static context =>
            context.Attempt == 1 ? throw new InvalidOperationException("bad node state") : ValueTask.FromResult(context.NodeName));

        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("b"), "the strategy always takes the first candidate: a is left out");
        Assert.That(handle.AttemptFailures.Single().NodeName, Is.EqualTo("a"));
    }

    [Test]
    public async Task RetryAnywhere_NodeFault_TheEngineAddsNoExclusionOfItsOwn()
    {
        await using var dispatcher = BuildTwoNodes(new FixedDecisionPolicy(RecoveryDecision.Retry(), retries: 1), new FirstCandidateStrategy());

        var handle = await dispatcher.SubmitAsync<string>(static context =>
            context.Attempt == 1 ? throw new NodeFailureException("disk gone") { NodeName = context.NodeName } : ValueTask.FromResult(context.NodeName));

        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("a"), "the policy said anywhere, and the strategy chose a again");
        Assert.That(handle.AttemptFailures.Single().IsNodeFault, Is.True);
    }

    [Test]
    public async Task RetrySameNode_NodeRemovedMeanwhile_RunsElsewhere()
    {
        var time = new FakeTimeProvider();
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseTimeProvider(time)
            .UseRecovery(new FixedDecisionPolicy(RecoveryDecision.RetrySameNode(TimeSpan.FromSeconds(10)), retries: 1))
            .UseAllocation(new FirstCandidateStrategy())
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .Build();

        var handle = await dispatcher.SubmitAsync<string>(static context =>
            context.Attempt == 1 ? throw new InvalidOperationException("transient") : ValueTask.FromResult(context.NodeName));
        await TestTimeouts.WaitUntilAsync(() => handle.State == TaskState.Retrying, "the first attempt to fail");
        await dispatcher.RemoveNodeAsync("a").WaitAsync(TestTimeouts.Generous);
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("b"));
        Assert.That(handle.AttemptFailures.Single().NodeName, Is.EqualTo("a"));
    }

    [Test]
    public async Task MaxRetryAttempts_OnTheTask_OverridesTheRetryPolicysOwnLimit()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseRecovery(RecoveryPolicy.Retry(static o =>
            {
                o.MaxRetryAttempts = 10;
                o.Delay = TimeSpan.Zero;
            }))
            .AddNode("a")
            .Build();
        var runs = 0;

        var handle = await dispatcher.SubmitAsync(
            _ =>
            {
                Interlocked.Increment(ref runs);
                return ValueTask.FromException(new InvalidOperationException("always"));
            },
            new TaskOptions { MaxRetryAttempts = 2 });

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
        Assert.That(runs, Is.EqualTo(3));
        Assert.That(dispatcher.DeadLetters.TryGet(handle.Id, out _), Is.True, "giving up sends the task to the dead letters");
    }

    [Test]
    public void RecoveryDecision_Factories_SayWhereTheRetryRuns()
    {
        Assert.That(RecoveryDecision.Retry().Placement, Is.EqualTo(RetryPlacement.Anywhere));
        Assert.That(RecoveryDecision.RetrySameNode().Placement, Is.EqualTo(RetryPlacement.SameNode));
        Assert.That(RecoveryDecision.RetryElsewhere(TimeSpan.FromSeconds(1)).Placement, Is.EqualTo(RetryPlacement.OtherNode));
        Assert.That(RecoveryDecision.RetryElsewhere(), Is.Not.EqualTo(RecoveryDecision.Retry()));
        Assert.That(RecoveryDecision.GiveUp.ShouldRetry, Is.False);
        var error = Assert.Throws<ArgumentOutOfRangeException>(static () => RecoveryDecision.RetrySameNode(TimeSpan.FromTicks(-1)));
        Assert.That(error!.ParamName, Is.EqualTo("delay"));
    }

    private static TaskDispatcher BuildTwoNodes(IRecoveryPolicy recovery, IAllocationStrategy? allocation = null)
    {
        var builder = new TaskDispatcherBuilder()
            .UseRecovery(recovery)
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1));
        if (allocation is not null)
        {
            builder.UseAllocation(allocation);
        }

        return builder.Build();
    }

    /// <summary>Answers the same decision for every failure, up to a number of retries.</summary>
    private sealed class FixedDecisionPolicy(RecoveryDecision decision, int retries) : IRecoveryPolicy
    {
        public RecoveryDecision Decide(in RecoveryContext context) => context.Attempt <= retries ? decision : RecoveryDecision.GiveUp;
    }

    /// <summary>Always takes the first eligible node.</summary>
    private sealed class FirstCandidateStrategy : IAllocationStrategy
    {
        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates) => 0;
    }
}
