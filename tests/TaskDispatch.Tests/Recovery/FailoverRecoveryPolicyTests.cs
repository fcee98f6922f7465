using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class FailoverRecoveryPolicyTests
{
    private static readonly RecoveryDecision s_innerDecision = RecoveryDecision.Retry(TimeSpan.FromSeconds(7));

    [Test]
    public void Decide_NodeFaultWithinMaxFailovers_RetriesAtOnceWithoutAskingTheInnerPolicy()
    {
        var inner = new FixedPolicy(RecoveryDecision.GiveUp);
        var policy = new FailoverRecoveryPolicy(inner, maxFailovers: 2);
        var task = Tasks.Create();

        Assert.That(policy.Decide(NodeFault(task, attempt: 1, nodeFaults: 1)), Is.EqualTo(RecoveryDecision.RetryElsewhere(TimeSpan.Zero)));
        Assert.That(policy.Decide(NodeFault(task, attempt: 2, nodeFaults: 2)), Is.EqualTo(RecoveryDecision.RetryElsewhere(TimeSpan.Zero)));
        Assert.That(inner.Calls, Is.Zero);
    }

    [Test]
    public void WithFailover_OnAPolicyThatAlreadyFailsOver_ItsLimitHolds()
    {
        // The default policy fails over 3 times; limited to 1, the second node fault is the inner retry policy's (no retries).
        var policy = RecoveryPolicy.Default().WithFailover(maxFailovers: 1);
        var task = Tasks.Create();

        Assert.That(policy.Decide(NodeFault(task, attempt: 1, nodeFaults: 1)), Is.EqualTo(RecoveryDecision.RetryElsewhere(TimeSpan.Zero)));
        Assert.That(policy.Decide(NodeFault(task, attempt: 2, nodeFaults: 2)), Is.EqualTo(RecoveryDecision.GiveUp));
    }

    [Test]
    public void Decide_NodeFaultBeyondMaxFailovers_InnerPolicyDecides()
    {
        var inner = new FixedPolicy(s_innerDecision);
        var policy = new FailoverRecoveryPolicy(inner, maxFailovers: 2);
        var task = Tasks.Create();

        Assert.That(policy.Decide(NodeFault(task, attempt: 3, nodeFaults: 3)), Is.EqualTo(s_innerDecision));
        Assert.That(inner.Calls, Is.EqualTo(1));
        Assert.That(inner.LastContext.Exception, Is.InstanceOf<NodeFailureException>(), "the inner policy sees the failure itself");
        Assert.That(inner.LastContext.NodeFaults, Is.EqualTo(3));
    }

    [TestCase(0)]
    [TestCase(1)]
    public void Decide_TaskFault_InnerPolicyDecidesWhateverTheEarlierNodeFaults(int earlierNodeFaults)
    {
        var inner = new FixedPolicy(s_innerDecision);
        var policy = new FailoverRecoveryPolicy(inner);
        var task = Tasks.Create();

        var decision = policy.Decide(new RecoveryContext(task, 2, new IOException("disk full"), "a", PolicyTasks.Epoch, isNodeFault: false, nodeFaults: earlierNodeFaults));

        Assert.That(decision, Is.EqualTo(s_innerDecision));
        Assert.That(inner.Calls, Is.EqualTo(1));
    }

    [Test]
    public void Decide_MaxFailoversZero_EveryNodeFaultGoesToTheInnerPolicy()
    {
        var inner = new FixedPolicy(RecoveryDecision.GiveUp);
        var policy = new FailoverRecoveryPolicy(inner, maxFailovers: 0);

        Assert.That(policy.Decide(NodeFault(Tasks.Create(), attempt: 1, nodeFaults: 1)), Is.EqualTo(RecoveryDecision.GiveUp));
        Assert.That(inner.Calls, Is.EqualTo(1));
    }

    [Test]
    public void Default_IsNoRetryWithDefaultFailover()
    {
        var policy = RecoveryPolicy.Default();
        var task = Tasks.Create();
        var threeAttempts = Tasks.Create(options: new TaskOptions { MaxRetryAttempts = 2 });

        Assert.That(policy, Is.InstanceOf<FailoverRecoveryPolicy>());
        Assert.That(((FailoverRecoveryPolicy)policy).MaxFailovers, Is.EqualTo(FailoverRecoveryPolicy.DefaultMaxFailovers));
        Assert.That(FailoverRecoveryPolicy.DefaultMaxFailovers, Is.EqualTo(3));

        // Node faults: failed over at once three times; the fourth goes to the attempt limit, one attempt by default.
        for (var fault = 1; fault <= 3; fault++)
        {
            Assert.That(policy.Decide(NodeFault(task, attempt: fault, nodeFaults: fault)), Is.EqualTo(RecoveryDecision.RetryElsewhere(TimeSpan.Zero)), $"node fault {fault}");
        }

        Assert.That(policy.Decide(NodeFault(task, attempt: 4, nodeFaults: 4)), Is.EqualTo(RecoveryDecision.GiveUp));

        // Task faults: the attempt limit alone decides.
        Assert.That(policy.Decide(TaskFault(task, attempt: 1)), Is.EqualTo(RecoveryDecision.GiveUp));
        Assert.That(policy.Decide(TaskFault(threeAttempts, attempt: 1)), Is.EqualTo(RecoveryDecision.Retry(TimeSpan.Zero)));
        Assert.That(policy.Decide(TaskFault(threeAttempts, attempt: 3)), Is.EqualTo(RecoveryDecision.GiveUp));
    }

    [Test]
    public void WithFailover_RetryPolicy_NodeFaultsAtOnceTaskFaultsWithItsBackoff()
    {
        var policy = RecoveryPolicy.Retry(static o =>
        {
            o.Delay = TimeSpan.FromSeconds(5);
            o.MaxRetryAttempts = 2;
        }).WithFailover(maxFailovers: 1);
        var task = Tasks.Create();

        Assert.That(policy, Is.InstanceOf<FailoverRecoveryPolicy>());
        Assert.That(((FailoverRecoveryPolicy)policy).MaxFailovers, Is.EqualTo(1));
        Assert.That(policy.Decide(NodeFault(task, attempt: 1, nodeFaults: 1)), Is.EqualTo(RecoveryDecision.RetryElsewhere(TimeSpan.Zero)));
        Assert.That(policy.Decide(NodeFault(task, attempt: 2, nodeFaults: 2)), Is.EqualTo(RecoveryDecision.Retry(TimeSpan.FromSeconds(5))), "beyond the failovers: the retry policy's delay");
        Assert.That(policy.Decide(TaskFault(task, attempt: 1)), Is.EqualTo(RecoveryDecision.Retry(TimeSpan.FromSeconds(5))));
        Assert.That(policy.Decide(TaskFault(task, attempt: 3)), Is.EqualTo(RecoveryDecision.GiveUp));
    }

    [Test]
    public void Constructor_DefaultMaxFailovers_IsTheConstant()
    {
        var policy = new FailoverRecoveryPolicy(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 0; o.Delay = TimeSpan.Zero; }));

        Assert.That(policy.MaxFailovers, Is.EqualTo(FailoverRecoveryPolicy.DefaultMaxFailovers));
        Assert.That(((FailoverRecoveryPolicy)RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 0; o.Delay = TimeSpan.Zero; }).WithFailover()).MaxFailovers, Is.EqualTo(FailoverRecoveryPolicy.DefaultMaxFailovers));
    }

    [Test]
    public void Constructor_NullInner_ThrowsNamingIt()
    {
        var direct = Assert.Throws<ArgumentNullException>(static () => _ = new FailoverRecoveryPolicy(null!));
        var extension = Assert.Throws<ArgumentNullException>(static () => _ = ((IRecoveryPolicy)null!).WithFailover());

        Assert.That(direct?.ParamName, Is.EqualTo("inner"));
        Assert.That(extension?.ParamName, Is.EqualTo("inner"));
    }

    [Test]
    public void Constructor_NegativeMaxFailovers_ThrowsNamingIt()
    {
        var direct = Assert.Throws<ArgumentOutOfRangeException>(static () => _ = new FailoverRecoveryPolicy(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 0; o.Delay = TimeSpan.Zero; }), -1));
        var extension = Assert.Throws<ArgumentOutOfRangeException>(static () => _ = RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 0; o.Delay = TimeSpan.Zero; }).WithFailover(-1));

        Assert.That(direct?.ParamName, Is.EqualTo("maxFailovers"));
        Assert.That(extension?.ParamName, Is.EqualTo("maxFailovers"));
    }

    [Test]
    public void RecoveryContext_Constructor_KeepsEveryValue()
    {
        var task = Tasks.Create();
        var error = new NodeFailureException("gone") { NodeName = "a" };
        var failedAt = PolicyTasks.Epoch + TimeSpan.FromMinutes(3);

        var full = new RecoveryContext(task, 3, error, "a", failedAt, isNodeFault: true, nodeFaults: 2);
        var defaults = new RecoveryContext(task, 1, error, "a", failedAt);

        Assert.That(full.Task, Is.SameAs(task));
        Assert.That(full.Attempt, Is.EqualTo(3));
        Assert.That(full.Exception, Is.SameAs(error));
        Assert.That(full.NodeName, Is.EqualTo("a"));
        Assert.That(full.FailedAt, Is.EqualTo(failedAt));
        Assert.That(full.IsNodeFault, Is.True);
        Assert.That(full.NodeFaults, Is.EqualTo(2));
        Assert.That(defaults.IsNodeFault, Is.False);
        Assert.That(defaults.NodeFaults, Is.Zero);
    }

    [TestCase("task")]
    [TestCase("exception")]
    [TestCase("nodeName")]
    public void RecoveryContext_Constructor_NullArgument_ThrowsNamingIt(string argument)
    {
        var task = argument == "task" ? null! : Tasks.Create();
        var exception = argument == "exception" ? null! : new IOException();
        var nodeName = argument == "nodeName" ? null! : "a";

        var error = Assert.Throws<ArgumentNullException>(() => _ = new RecoveryContext(task, 1, exception, nodeName, PolicyTasks.Epoch));

        Assert.That(error?.ParamName, Is.EqualTo(argument));
    }

    [TestCase("attempt", 0, 0)]
    [TestCase("attempt", -1, 0)]
    [TestCase("nodeFaults", 1, -1)]
    public void RecoveryContext_Constructor_OutOfRange_ThrowsNamingIt(string argument, int attempt, int nodeFaults)
    {
        var task = Tasks.Create();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            _ = new RecoveryContext(task, attempt, new IOException(), "a", PolicyTasks.Epoch, isNodeFault: false, nodeFaults: nodeFaults));

        Assert.That(error?.ParamName, Is.EqualTo(argument));
    }

    [Test]
    public void IsNodeFault_NodeFailureDirectWrappedOrAggregated_IsTrueOtherwiseFalse()
    {
        var nodeFailure = new NodeFailureException();

        Assert.That(NodeFailureException.IsNodeFault(nodeFailure), Is.True);
        Assert.That(NodeFailureException.IsNodeFault(new IOException("rpc failed", nodeFailure)), Is.True);
        Assert.That(NodeFailureException.IsNodeFault(new InvalidOperationException("outer", new IOException("rpc failed", nodeFailure))), Is.True);
        Assert.That(NodeFailureException.IsNodeFault(new AggregateException(new IOException(), nodeFailure)), Is.True);
        Assert.That(NodeFailureException.IsNodeFault(new IOException("disk full")), Is.False);
        Assert.That(NodeFailureException.IsNodeFault(new AggregateException(new IOException(), new TimeoutException())), Is.False);
        Assert.That(NodeFailureException.IsNodeFault(null), Is.False);
    }

    private static RecoveryContext NodeFault(TaskHandle task, int attempt, int nodeFaults) =>
        new(task, attempt, new NodeFailureException("lost") { NodeName = "a" }, "a", PolicyTasks.Epoch, isNodeFault: true, nodeFaults: nodeFaults);

    private static RecoveryContext TaskFault(TaskHandle task, int attempt) =>
        new(task, attempt, new IOException("transient"), "a", PolicyTasks.Epoch);

    /// <summary>Answers one decision and counts how often it was asked.</summary>
    private sealed class FixedPolicy(RecoveryDecision decision) : IRecoveryPolicy
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public RecoveryContext LastContext { get; private set; }

        public RecoveryDecision Decide(in RecoveryContext context)
        {
            Interlocked.Increment(ref _calls);
            LastContext = context;
            return decision;
        }
    }

    [Test]
    public async Task Decide_TaskFaultAfterFailovers_InnerPolicySeesTheAttemptWithoutThem()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var task = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Delay = TimeSpan.FromHours(1) });
        var seen = new List<int>();
        var policy = new RecordingPolicy(seen).WithFailover(maxFailovers: 2);

        // Two failovers, then a task fault on attempt 3: the inner policy's first failure.
        policy.Decide(new RecoveryContext(task, 3, new IOException(), "n", DateTimeOffset.UnixEpoch, isNodeFault: false, nodeFaults: 2));

        // Three node faults: the third is beyond the failovers and is the inner policy's first failure too.
        policy.Decide(new RecoveryContext(task, 3, new NodeFailureException(), "n", DateTimeOffset.UnixEpoch, isNodeFault: true, nodeFaults: 3));

        Assert.That(seen, Is.EqualTo(new[] { 1, 1 }));
        task.Cancel();
    }

    private sealed class RecordingPolicy(List<int> seen) : IRecoveryPolicy
    {
        public RecoveryDecision Decide(in RecoveryContext context)
        {
            seen.Add(context.Attempt);
            return RecoveryDecision.GiveUp;
        }
    }
}
