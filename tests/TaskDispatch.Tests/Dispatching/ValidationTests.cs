using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

/// <summary>Bad input is rejected at the call site with the right exception type, parameter name and message; odd but valid input works.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ValidationTests
{
    private static readonly Func<TaskContext, ValueTask> s_noop = static _ => ValueTask.CompletedTask;

    // ---------------------------------------------------------------- null work

    [Test]
    public async Task SubmitAsync_NullWork_ThrowsArgumentNullException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = await Assert.ThrowsAsync<ArgumentNullException>(async () => await dispatcher.SubmitAsync((Func<TaskContext, ValueTask>)null!));

        Assert.That(ex?.ParamName, Is.EqualTo("work"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task SubmitAsyncWithResult_NullWork_ThrowsArgumentNullException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = await Assert.ThrowsAsync<ArgumentNullException>(async () => await dispatcher.SubmitAsync((Func<TaskContext, ValueTask<int>>)null!));

        Assert.That(ex?.ParamName, Is.EqualTo("work"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task TrySubmit_NullWork_ThrowsArgumentNullException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = Assert.Throws<ArgumentNullException>(() => dispatcher.TrySubmit((Func<TaskContext, ValueTask>)null!, null, out _));

        Assert.That(ex?.ParamName, Is.EqualTo("work"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task TrySubmitWithResult_NullWork_ThrowsArgumentNullException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = Assert.Throws<ArgumentNullException>(() => dispatcher.TrySubmit<int>(null!, null, out _));

        Assert.That(ex?.ParamName, Is.EqualTo("work"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    // ---------------------------------------------------------------- TaskOptions.Id

    [TestCase("")]
    [TestCase(" ")]
    [TestCase("\t\n")]
    public async Task SubmitAsync_EmptyOrWhiteSpaceId_ThrowsArgumentException(string id)
    {
        await SubmitRejectsAsync<ArgumentException>(new TaskOptions { Id = id }, "options.Id", "empty");
    }

    [TestCase("~")]
    [TestCase("~1")]
    [TestCase("~my-task")]
    public async Task SubmitAsync_IdWithReservedPrefix_ThrowsArgumentException(string id)
    {
        var ex = await SubmitRejectsAsync<ArgumentException>(new TaskOptions { Id = id }, "options.Id", "reserved");

        Assert.That(ex.Message, Does.Contain(id));
    }

    [Test]
    public async Task SubmitAsync_IdContainingReservedPrefixNotAtStart_IsAccepted()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(s_noop, new TaskOptions { Id = "a~b" });
        await handle;

        Assert.That(handle.Id, Is.EqualTo("a~b"));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    // ---------------------------------------------------------------- durations and attempts

    [Test]
    public async Task SubmitAsync_NegativeEstimatedDuration_ThrowsArgumentOutOfRangeException()
    {
        var estimate = TimeSpan.FromMilliseconds(-1);

        var ex = await SubmitRejectsAsync<ArgumentOutOfRangeException>(new TaskOptions { EstimatedDuration = estimate }, "options.EstimatedDuration", "negative");

        Assert.That(ex.ActualValue, Is.EqualTo(estimate));
    }

    [Test]
    public async Task SubmitAsync_ZeroTimeout_ThrowsArgumentOutOfRangeException()
    {
        var ex = await SubmitRejectsAsync<ArgumentOutOfRangeException>(new TaskOptions { Timeout = TimeSpan.Zero }, "options.Timeout", "positive");

        Assert.That(ex.ActualValue, Is.EqualTo(TimeSpan.Zero));
    }

    [TestCase(-2)]
    [TestCase(-1000)]
    public async Task SubmitAsync_NegativeTimeout_ThrowsArgumentOutOfRangeException(int milliseconds)
    {
        var timeout = TimeSpan.FromMilliseconds(milliseconds);

        var ex = await SubmitRejectsAsync<ArgumentOutOfRangeException>(new TaskOptions { Timeout = timeout }, "options.Timeout", "positive");

        Assert.That(ex.ActualValue, Is.EqualTo(timeout));
    }

    [Test]
    public async Task SubmitAsync_InfiniteTimeout_IsAcceptedAndRuns()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(7), new TaskOptions { Timeout = Timeout.InfiniteTimeSpan });

        Assert.That(await handle, Is.EqualTo(7));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [TestCase(-1)]
    [TestCase(int.MinValue)]
    public async Task SubmitAsync_NegativeMaxRetryAttempts_ThrowsArgumentOutOfRangeException(int maxRetryAttempts)
    {
        var ex = await SubmitRejectsAsync<ArgumentOutOfRangeException>(new TaskOptions { MaxRetryAttempts = maxRetryAttempts }, "options.MaxRetryAttempts", "must not be negative");

        Assert.That(ex.ActualValue, Is.EqualTo(maxRetryAttempts));
    }

    [Test]
    public async Task SubmitAsync_NegativeDelay_ThrowsArgumentOutOfRangeException()
    {
        var delay = TimeSpan.FromTicks(-1);

        var ex = await SubmitRejectsAsync<ArgumentOutOfRangeException>(new TaskOptions { Delay = delay }, "options.Delay", "negative");

        Assert.That(ex.ActualValue, Is.EqualTo(delay));
    }

    [Test]
    public async Task SubmitAsync_DelayWithNotBefore_ThrowsArgumentException()
    {
        var options = new TaskOptions { Delay = TimeSpan.FromSeconds(1), NotBefore = TimeProvider.System.GetUtcNow() };

        var ex = await SubmitRejectsAsync<ArgumentException>(options, "options.Delay", "NotBefore");

        Assert.That(ex, Is.Not.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task SubmitAsync_ZeroDelayAndZeroEstimate_AreAccepted()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(s_noop, new TaskOptions { Delay = TimeSpan.Zero, EstimatedDuration = TimeSpan.Zero });
        await handle;

        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task SubmitAsync_NotBeforeInThePast_RunsAtOnce()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(s_noop, new TaskOptions { NotBefore = TimeProvider.System.GetUtcNow() - TimeSpan.FromDays(1) });
        await handle;

        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    // ---------------------------------------------------------------- ResourceDemand

    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    [TestCase(double.NegativeInfinity)]
    [TestCase(-1.0)]
    [TestCase(-double.Epsilon)]
    public async Task SubmitAsync_ResourceDemandNotFiniteOrNegative_ThrowsArgumentOutOfRangeException(double amount)
    {
        var options = new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["cpu"] = amount } };

        var ex = await SubmitRejectsAsync<ArgumentOutOfRangeException>(options, "options.ResourceDemand", "finite and not negative");

        Assert.That(ex.ActualValue, Is.EqualTo(amount));
        Assert.That(ex.Message, Does.Contain("cpu"));
    }

    [TestCase("")]
    [TestCase("  ")]
    public async Task SubmitAsync_ResourceDemandWithEmptyResourceName_ThrowsArgumentException(string resource)
    {
        var options = new TaskOptions { ResourceDemand = new Dictionary<string, double> { [resource] = 1 } };

        var ex = await SubmitRejectsAsync<ArgumentException>(options, "options.ResourceDemand", "empty resource name");

        Assert.That(ex, Is.Not.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task SubmitAsync_ResourceDemandAboveEveryNodesCapacity_ThrowsArgumentException()
    {
        var options = new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["cpu"] = 2.5 } };

        await SubmitRejectsAsync<ArgumentException>(options, "options.ResourceDemand", "capacity");
    }

    [Test]
    public async Task SubmitAsync_ResourceDemandForResourceNoNodeHas_ThrowsArgumentException()
    {
        var options = new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["gpu"] = 1 } };

        await SubmitRejectsAsync<ArgumentException>(options, "options.ResourceDemand", "capacity");
    }

    [Test]
    public async Task SubmitAsync_ResourceDemandZeroForUnknownResource_IsAcceptedAndRuns()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(s_noop, new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["gpu"] = 0 } });
        await handle;

        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task SubmitAsync_ResourceDemandEqualToCapacity_RunsOnTheNodeWithThatCapacity()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(s_noop, new TaskOptions { ResourceDemand = new Dictionary<string, double> { ["cpu"] = 2 } });
        await handle;

        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.NodeName, Is.EqualTo("a"));
    }

    // ---------------------------------------------------------------- RequiredTags and RequiredNode

    [Test]
    public async Task SubmitAsync_RequiredTagNoNodeCarries_ThrowsArgumentException()
    {
        var ex = await SubmitRejectsAsync<ArgumentException>(new TaskOptions { RequiredTags = ["green"] }, "options.RequiredTags", "RequiredTags");

        Assert.That(ex, Is.Not.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task SubmitAsync_RequiredTagsSplitOverTwoNodes_ThrowsArgumentException()
    {
        // "red" is on node a and "blue" on node b: no single node carries both.
        await SubmitRejectsAsync<ArgumentException>(new TaskOptions { RequiredTags = ["red", "blue"] }, "options.RequiredTags", "RequiredTags");
    }

    [Test]
    public async Task SubmitAsync_RequiredTagDiffersOnlyInCase_ThrowsArgumentException()
    {
        // Tags compare ordinally.
        await SubmitRejectsAsync<ArgumentException>(new TaskOptions { RequiredTags = ["RED"] }, "options.RequiredTags", "RequiredTags");
    }

    [TestCase("")]
    [TestCase(" ")]
    public async Task SubmitAsync_EmptyRequiredTag_ThrowsArgumentException(string tag)
    {
        await SubmitRejectsAsync<ArgumentException>(new TaskOptions { RequiredTags = ["red", tag] }, "options.RequiredTags", "empty tag");
    }

    [Test]
    public async Task SubmitAsync_UnsatisfiableTagsWithHarmlessResourceDemand_BlamesRequiredTags()
    {
        // The demand (nothing of an unknown resource) fits every node; only the tag is impossible. The error should name the tag.
        var options = new TaskOptions
        {
            RequiredTags = ["green"],
            ResourceDemand = new Dictionary<string, double> { ["gpu"] = 0 },
        };

        await SubmitRejectsAsync<ArgumentException>(options, "options.RequiredTags", "RequiredTags");
    }

    [Test]
    public async Task SubmitAsync_RequiredTagsCarriedByOneOfTwoNodes_RunsOnThatNode()
    {
        await using var dispatcher = BuildDispatcher();

        var handles = new List<TaskHandle<string>>();
        for (var i = 0; i < 3; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredTags = ["blue"] }));
        }

        foreach (var handle in handles)
        {
            Assert.That(await handle, Is.EqualTo("b"));
            Assert.That(handle.NodeName, Is.EqualTo("b"));
        }
    }

    [Test]
    public async Task SubmitAsync_EmptyRequiredTagsAndEmptyDemand_AreAccepted()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(s_noop, new TaskOptions { RequiredTags = [], ResourceDemand = new Dictionary<string, double>() });
        await handle;

        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [TestCase("c")]
    [TestCase("A")]
    [TestCase("")]
    public async Task SubmitAsync_UnknownRequiredNode_ThrowsArgumentException(string node)
    {
        var ex = await SubmitRejectsAsync<ArgumentException>(new TaskOptions { RequiredNode = node }, "options.RequiredNode", "is not a node");

        Assert.That(ex.Message, Does.Contain($"'{node}'"));
    }

    [Test]
    public async Task SubmitAsync_RequiredNodeLackingRequiredTag_ThrowsArgumentException()
    {
        await SubmitRejectsAsync<ArgumentException>(new TaskOptions { RequiredNode = "a", RequiredTags = ["blue"] }, "options.RequiredNode", "can ever run");
    }

    [Test]
    public async Task SubmitAsync_RequiredNodeLackingDemandedResource_ThrowsArgumentException()
    {
        var options = new TaskOptions { RequiredNode = "b", ResourceDemand = new Dictionary<string, double> { ["cpu"] = 1 } };

        await SubmitRejectsAsync<ArgumentException>(options, "options.RequiredNode", "can ever run");
    }

    [Test]
    public async Task SubmitAsync_KnownRequiredNode_RunsThere()
    {
        await using var dispatcher = BuildDispatcher();

        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredNode = "b" });

        Assert.That(await handle, Is.EqualTo("b"));
    }

    // ---------------------------------------------------------------- every submit path validates

    [Test]
    public async Task TrySubmit_InvalidOptions_ThrowsArgumentOutOfRangeException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => dispatcher.TrySubmit(s_noop, new TaskOptions { Timeout = TimeSpan.Zero }, out _));

        Assert.That(ex?.ParamName, Is.EqualTo("options.Timeout"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task TrySubmitWithResult_InvalidOptions_ThrowsArgumentException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = Assert.Throws<ArgumentException>(() => dispatcher.TrySubmit(static _ => ValueTask.FromResult(1), new TaskOptions { RequiredNode = "nowhere" }, out _));

        Assert.That(ex?.ParamName, Is.EqualTo("options.RequiredNode"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task SubmitAsyncHandler_InvalidOptions_ThrowsArgumentOutOfRangeException()
    {
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static node => node.WithConcurrency(1)).UseServiceProvider(services).Build();

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await dispatcher.SubmitAsync<DoublingHandler, int, int>(1, new TaskOptions { MaxRetryAttempts = -1 }));

        Assert.That(ex?.ParamName, Is.EqualTo("options.MaxRetryAttempts"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    [Test]
    public async Task SubmitAsync_RejectedOptions_DoNotConsumePendingCapacity()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .Configure(static options =>
            {
                options.MaxPendingTasks = 1;
                options.FullMode = QueueFullMode.Reject;
            })
            .AddNode("a", static node => node.WithConcurrency(1))
            .Build();

        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await dispatcher.SubmitAsync(s_noop, new TaskOptions { Timeout = TimeSpan.Zero }));
        }

        var handle = await dispatcher.SubmitAsync(s_noop);
        await handle;

        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task SubmitAsync_SameIdAsLiveTaskWithOtherResultType_ThrowsInvalidOperationException()
    {
        await using var dispatcher = BuildDispatcher();
        var release = new Signal();
        var first = await dispatcher.SubmitAsync(async _ => await release.Task, new TaskOptions { Id = "job" });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1), new TaskOptions { Id = "job" }));

        Assert.That(ex?.Message, Does.Contain("job"));
        release.Set();
        await first;
    }

    // ---------------------------------------------------------------- node configuration

    [TestCase(0)]
    [TestCase(-1)]
    public void AddNode_MaxConcurrencyBelowOne_ThrowsArgumentOutOfRangeException(int maxConcurrency)
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddNode("n", node => node.WithConcurrency(maxConcurrency)));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.MaxConcurrency)}"));
        Assert.That(ex?.ActualValue, Is.EqualTo(maxConcurrency));
        Assert.That(ex?.Message, Does.Contain("Nodes[n].MaxConcurrency must be at least 1"));
    }

    [TestCase(double.NaN)]
    [TestCase(-0.5)]
    [TestCase(double.PositiveInfinity)]
    [TestCase(double.NegativeInfinity)]
    public void AddNode_WeightNotFiniteOrNegative_ThrowsArgumentOutOfRangeException(double weight)
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddNode("n", node => node.WithWeight(weight)));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.Weight)}"));
        Assert.That(ex?.ActualValue, Is.EqualTo(weight));
        Assert.That(ex?.Message, Does.Contain("Nodes[n].Weight must be finite and not negative"));
    }

    [Test]
    public async Task AddNode_ZeroWeight_IsAccepted()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("n", static node => node.WithConcurrency(1).WithWeight(0)).Build();

        Assert.That(dispatcher.Nodes[0].Weight, Is.Zero);
    }

    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    [TestCase(-1.0)]
    public void AddNode_ResourceCapacityNotFiniteOrNegative_ThrowsArgumentOutOfRangeException(double capacity)
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddNode("n", node => node.WithResource("cpu", capacity)));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.Resources)}"));
        Assert.That(ex?.ActualValue, Is.EqualTo(capacity));
        Assert.That(ex?.Message, Does.Contain("Nodes[n].Resources[cpu] must be finite and not negative"));
    }

    [Test]
    public void AddNode_EmptyResourceName_ThrowsArgumentException()
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentException>(() => builder.AddNode("n", static node => node.WithResource(" ", 1)));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.Resources)}"));
        Assert.That(ex?.Message, Does.Contain("empty resource name"));
    }

    [Test]
    public void AddNode_EmptyTag_ThrowsArgumentException()
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentException>(() => builder.AddNode("n", static node => node.WithTags("ok", "")));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.Tags)}"));
        Assert.That(ex?.Message, Does.Contain("empty tag"));
    }

    [Test]
    public void AddNode_DuplicateName_ThrowsArgumentException()
    {
        var builder = new TaskDispatcherBuilder().AddNode("n");

        var ex = Assert.Throws<ArgumentException>(() => builder.AddNode("n"));

        Assert.That(ex?.ParamName, Is.EqualTo("name"));
        Assert.That(ex?.Message, Does.Contain("already has a node named 'n'"));
    }

    [TestCase("")]
    [TestCase("   ")]
    public void AddNode_EmptyName_ThrowsArgumentException(string name)
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentException>(() => builder.AddNode(name));

        Assert.That(ex?.ParamName, Is.EqualTo("name"));
    }

    [Test]
    public void AddNode_NullName_ThrowsArgumentNullException()
    {
        var builder = new TaskDispatcherBuilder();

        var ex = Assert.Throws<ArgumentNullException>(() => builder.AddNode(null!));

        Assert.That(ex?.ParamName, Is.EqualTo("name"));
    }

    [Test]
    public async Task AddNode_InvalidConfigurationThenValidOneWithSameName_IsAccepted()
    {
        var builder = new TaskDispatcherBuilder();
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddNode("n", static node => node.WithConcurrency(0)));

        builder.AddNode("n", static node => node.WithConcurrency(1));
        await using var dispatcher = builder.Build();

        Assert.That(dispatcher.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "n" }));
    }

    [Test]
    public void DependencyInjectionAddNode_DuplicateName_ThrowsArgumentException()
    {
        var dispatch = new ServiceCollection().AddTaskDispatch().AddNode("n");

        var ex = Assert.Throws<ArgumentException>(() => dispatch.AddNode("n"));

        // The public parameter is "name", as for TaskDispatcherBuilder.AddNode.
        Assert.That(ex?.ParamName, Is.EqualTo("name"));
        Assert.That(ex?.Message, Does.Contain("already has a node named 'n'"));
    }

    [Test]
    public void DependencyInjectionAddNode_DuplicateNameAcrossAddTaskDispatchCalls_ThrowsArgumentException()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("n");

        var ex = Assert.Throws<ArgumentException>(() => services.AddTaskDispatch().AddNode("n"));

        Assert.That(ex?.Message, Does.Contain("already has a node named 'n'"));
    }

    [TestCase("")]
    [TestCase(" ")]
    public void DependencyInjectionAddNode_EmptyName_ThrowsArgumentException(string name)
    {
        var dispatch = new ServiceCollection().AddTaskDispatch();

        var ex = Assert.Throws<ArgumentException>(() => dispatch.AddNode(name));

        Assert.That(ex?.ParamName, Is.EqualTo("name"));
    }

    [Test]
    public void DependencyInjectionAddNode_ZeroMaxConcurrency_ThrowsAtTheCallSite()
    {
        var dispatch = new ServiceCollection().AddTaskDispatch();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => dispatch.AddNode("n", static node => node.WithConcurrency(0)));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.MaxConcurrency)}"));
        Assert.That(ex?.Message, Does.Contain("Nodes[n].MaxConcurrency"));
    }

    [Test]
    public void DependencyInjectionAddNode_NaNWeight_ThrowsAtTheCallSite()
    {
        var dispatch = new ServiceCollection().AddTaskDispatch();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => dispatch.AddNode("n", static node => node.WithWeight(double.NaN)));

        Assert.That(ex?.ParamName, Is.EqualTo($"Nodes[n].{nameof(NodeOptions.Weight)}"));
    }

    [Test]
    public async Task DependencyInjectionAddNode_InvalidConfigurationThenValidOneWithSameName_IsAccepted()
    {
        var services = new ServiceCollection();
        var dispatch = services.AddTaskDispatch();
        Assert.Throws<ArgumentOutOfRangeException>(() => dispatch.AddNode("n", static node => node.WithConcurrency(0)));

        // A rejected node must not be half-registered: the corrected call is the first real "n".
        Assert.DoesNotThrow(() => dispatch.AddNode("n", static node => node.WithConcurrency(1)));

        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        Assert.That(dispatcher.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "n" }));
    }

    // ---------------------------------------------------------------- dispatcher options (validated by Build)

    [TestCase(0)]
    [TestCase(-1)]
    public void Build_MaxPendingTasksBelowOne_ThrowsArgumentOutOfRangeException(int maxPending)
    {
        var builder = new TaskDispatcherBuilder().Configure(options => options.MaxPendingTasks = maxPending);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build().Dispose());

        Assert.That(ex?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.MaxPendingTasks)));
        Assert.That(ex?.ActualValue, Is.EqualTo(maxPending));
        Assert.That(ex?.Message, Does.Contain("at least 1"));
    }

    [Test]
    public void Build_NegativeShutdownTimeout_ThrowsArgumentOutOfRangeException()
    {
        var timeout = TimeSpan.FromSeconds(-1);
        var builder = new TaskDispatcherBuilder().Configure(options => options.ShutdownTimeout = timeout);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build().Dispose());

        Assert.That(ex?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.ShutdownTimeout)));
        Assert.That(ex?.ActualValue, Is.EqualTo(timeout));
        Assert.That(ex?.Message, Does.Contain("negative"));
    }

    [Test]
    public void Build_ShutdownTimeoutLongerThanATimedWait_ThrowsArgumentOutOfRangeException()
    {
        // A stop given one would fail half done: Task.WaitAsync refuses it.
        var timeout = TimeSpan.FromDays(60);
        var builder = new TaskDispatcherBuilder().Configure(options => options.ShutdownTimeout = timeout);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build().Dispose());

        Assert.That(ex?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.ShutdownTimeout)));
        Assert.That(ex?.Message, Does.Contain("49.7 days"));
    }

    [Test]
    public async Task StopAsync_TimeoutLongerThanATimedWait_ThrowsAtTheCallSiteAndAStopAfterItWorks()
    {
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static node => node.WithConcurrency(1)).Build();
        await await dispatcher.SubmitAsync(s_noop);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => dispatcher.StopAsync(ShutdownMode.Drain, TimeSpan.MaxValue));

        Assert.That(ex?.ParamName, Is.EqualTo("timeout"));
        await dispatcher.StopAsync(ShutdownMode.Drain, Timeout.InfiniteTimeSpan).WaitAsync(TestTimeouts.Generous);
    }

    [Test]
    public async Task Build_InfiniteOrZeroShutdownTimeout_IsAccepted()
    {
        await using var infinite = new TaskDispatcherBuilder().Configure(static options => options.ShutdownTimeout = Timeout.InfiniteTimeSpan).AddNode("a", static node => node.WithConcurrency(1)).Build();
        await using var zero = new TaskDispatcherBuilder().Configure(static options => options.ShutdownTimeout = TimeSpan.Zero).AddNode("a", static node => node.WithConcurrency(1)).Build();

        await await infinite.SubmitAsync(s_noop);
        await await zero.SubmitAsync(s_noop);

        Assert.That(infinite.LiveTaskCount + zero.LiveTaskCount, Is.Zero);
    }

    [Test]
    public void Build_UndefinedFullMode_ThrowsArgumentOutOfRangeException()
    {
        var builder = new TaskDispatcherBuilder().Configure(static options => options.FullMode = (QueueFullMode)42);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build().Dispose());

        Assert.That(ex?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.FullMode)));
        Assert.That(ex?.Message, Does.Contain("not a defined"));
    }

    [Test]
    public void Build_UndefinedShutdownMode_ThrowsArgumentOutOfRangeException()
    {
        var builder = new TaskDispatcherBuilder().Configure(static options => options.ShutdownMode = (ShutdownMode)(-1));

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build().Dispose());

        Assert.That(ex?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.ShutdownMode)));
        Assert.That(ex?.Message, Does.Contain("not a defined"));
    }

    [Test]
    public async Task Build_AfterFailedValidationAndFix_BuildsDispatcher()
    {
        var builder = new TaskDispatcherBuilder().AddNode("a", static node => node.WithConcurrency(1)).Configure(static options => options.MaxPendingTasks = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build().Dispose());

        builder.Configure(static options => options.MaxPendingTasks = 1);
        await using var dispatcher = builder.Build();

        await await dispatcher.SubmitAsync(s_noop);
    }

    // ---------------------------------------------------------------- StopAsync arguments

    [TestCase(-2)]
    [TestCase(-1000)]
    public async Task StopAsync_NegativeTimeout_ThrowsArgumentOutOfRangeExceptionAndKeepsRunning(int milliseconds)
    {
        await using var dispatcher = BuildDispatcher();
        var timeout = TimeSpan.FromMilliseconds(milliseconds);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => dispatcher.StopAsync(ShutdownMode.Drain, timeout));

        Assert.That(ex?.ParamName, Is.EqualTo("timeout"));
        Assert.That(ex?.ActualValue, Is.EqualTo(timeout));
        Assert.That(ex?.Message, Does.Contain("negative"));
        await await dispatcher.SubmitAsync(s_noop);
    }

    [Test]
    public async Task StopAsync_UndefinedMode_ThrowsArgumentOutOfRangeExceptionAndKeepsRunning()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => dispatcher.StopAsync((ShutdownMode)42));

        Assert.That(ex?.ParamName, Is.EqualTo("mode"));
        Assert.That(ex?.Message, Does.Contain("not a defined"));
        await await dispatcher.SubmitAsync(s_noop);
    }

    [Test]
    public async Task StopAsync_InfiniteTimeout_IsAccepted()
    {
        await using var dispatcher = BuildDispatcher();

        await dispatcher.StopAsync(ShutdownMode.Drain, Timeout.InfiniteTimeSpan);

        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    // ---------------------------------------------------------------- builder reuse

    private static IEnumerable<TestCaseData> BuilderCallsAfterBuild()
    {
        yield return Case("Build", static b => b.Build());
        yield return Case("AddNode", static b => b.AddNode("other"));
        yield return Case("Configure", static b => b.Configure(static _ => { }));
        yield return Case("UseScheduling", static b => b.UseScheduling(SchedulingPolicy.FirstComeFirstServed()));
        yield return Case("UseAllocation", static b => b.UseAllocation(AllocationStrategy.RoundRobin()));
        yield return Case("UseRecovery", static b => b.UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 0; o.Delay = TimeSpan.Zero; })));
        yield return Case("AddObserver", static b => b.AddObserver(new RecordingObserver()));
        yield return Case("OnTaskCompleted", static b => b.OnTaskCompleted(static _ => { }));
        yield return Case("UseTimeProvider", static b => b.UseTimeProvider(TimeProvider.System));
        yield return Case("UseLoggerFactory", static b => b.UseLoggerFactory(NullLoggerFactory.Instance));
        yield return Case("UseServiceProvider", static b => b.UseServiceProvider(new ServiceCollection().BuildServiceProvider()));

        static TestCaseData Case(string name, Action<TaskDispatcherBuilder> call) => new TestCaseData(call).SetArgDisplayNames(name);
    }

    [TestCaseSource(nameof(BuilderCallsAfterBuild))]
    public async Task Builder_UsedAfterBuild_ThrowsInvalidOperationException(Action<TaskDispatcherBuilder> call)
    {
        var builder = new TaskDispatcherBuilder().AddNode("a", static node => node.WithConcurrency(1));
        await using var dispatcher = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => call(builder));

        Assert.That(ex?.Message, Does.Contain("already built"));
    }

    // ---------------------------------------------------------------- handler tasks without services

    [Test]
    public async Task SubmitAsyncHandler_DispatcherWithoutServiceProvider_ThrowsInvalidOperationException()
    {
        await using var dispatcher = BuildDispatcher();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync<DoublingHandler, int, int>(21));

        Assert.That(ex?.Message, Does.Contain(nameof(DoublingHandler)));
        Assert.That(ex?.Message, Does.Contain("no service provider"));
        Assert.That(dispatcher.LiveTaskCount, Is.Zero);
    }

    // ---------------------------------------------------------------- after stop / dispose

    [Test]
    public async Task SubmitAsync_AfterStopAsyncCompleted_ThrowsObjectDisposedException()
    {
        await using var dispatcher = BuildDispatcher();
        await dispatcher.StopAsync();

        var ex = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(s_noop));

        Assert.That(ex?.Message, Does.Contain("stopped"));
    }

    [Test]
    public async Task SubmitAsyncWithResult_AfterStopAsyncCompleted_ThrowsObjectDisposedException()
    {
        await using var dispatcher = BuildDispatcher();
        await dispatcher.StopAsync(ShutdownMode.Cancel);

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1)));
    }

    [Test]
    public async Task TrySubmit_AfterStopAsyncCompleted_ThrowsObjectDisposedException()
    {
        await using var dispatcher = BuildDispatcher();
        await dispatcher.StopAsync();

        Assert.Throws<ObjectDisposedException>(() => dispatcher.TrySubmit(s_noop, null, out _));
        Assert.Throws<ObjectDisposedException>(() => dispatcher.TrySubmit(static _ => ValueTask.FromResult(1), null, out _));
    }

    [Test]
    public async Task SubmitAsyncHandler_AfterStopAsyncCompleted_ThrowsObjectDisposedException()
    {
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var dispatcher = new TaskDispatcherBuilder().AddNode("a", static node => node.WithConcurrency(1)).UseServiceProvider(services).Build();
        await dispatcher.StopAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync<DoublingHandler, int, int>(21));
    }

    [Test]
    public async Task SubmitAsync_AfterDisposeAsync_ThrowsObjectDisposedException()
    {
        var dispatcher = BuildDispatcher();
        await dispatcher.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(s_noop));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1)));
        Assert.Throws<ObjectDisposedException>(() => dispatcher.TrySubmit(s_noop, null, out _));
    }

    [Test]
    public async Task SubmitAsync_AfterSyncDispose_ThrowsObjectDisposedException()
    {
        var dispatcher = BuildDispatcher();
        dispatcher.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(s_noop));
    }

    [Test]
    public async Task DisposeAsync_CalledTwice_IsHarmless()
    {
        var dispatcher = BuildDispatcher();
        await dispatcher.DisposeAsync();

        await Assert.DoesNotThrowAsync(async () => await dispatcher.DisposeAsync());
        await Assert.DoesNotThrowAsync(async () => await dispatcher.StopAsync());
    }

    [Test]
    public async Task SubmitAsync_WhileDraining_ThrowsInvalidOperationExceptionNotObjectDisposed()
    {
        await using var dispatcher = BuildDispatcher();
        var started = new Signal();
        var release = new Signal();
        var blocker = await dispatcher.SubmitAsync(async _ =>
        {
            started.Set();
            await release.Task;
        });
        await started.WaitAsync();

        // The stop waits for the blocker without a deadline: released in finally, so that a failed assertion fails the
        // test instead of leaving its dispose waiting forever.
        var stopping = dispatcher.StopAsync(ShutdownMode.Drain, Timeout.InfiniteTimeSpan);
        try
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync(s_noop));
            Assert.That(ex?.Message, Does.Contain("stopping"));
        }
        finally
        {
            release.Set();
        }

        await Outcomes.OutcomeAsync(blocker);
        await stopping.WaitAsync(TestTimeouts.Generous);
        Assert.That(blocker.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task SubmitAsync_InvalidOptionsAfterStop_StillReportsTheOptionsProblem()
    {
        await using var dispatcher = BuildDispatcher();
        await dispatcher.StopAsync();

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await dispatcher.SubmitAsync(s_noop, new TaskOptions { MaxRetryAttempts = -1 }));

        Assert.That(ex?.ParamName, Is.EqualTo("options.MaxRetryAttempts"));
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Two single-slot nodes: "a" (tag red, 2 cpu) and "b" (tag blue, no resources).</summary>
    private static TaskDispatcher BuildDispatcher() => new TaskDispatcherBuilder()
        .AddNode("a", static node => node.WithConcurrency(1).WithTags("red").WithResource("cpu", 2))
        .AddNode("b", static node => node.WithConcurrency(1).WithTags("blue"))
        .Build();

    private static async Task<TException> SubmitRejectsAsync<TException>(TaskOptions options, string expectedParamName, string expectedMessagePart)
        where TException : ArgumentException
    {
        await using var dispatcher = BuildDispatcher();

        var ex = await Assert.ThrowsAsync<TException>(async () => await dispatcher.SubmitAsync(s_noop, options));

        Assert.That(ex, Is.Not.Null);
        Assert.That(ex!.ParamName, Is.EqualTo(expectedParamName));
        Assert.That(ex.Message, Does.Contain(expectedMessagePart).IgnoreCase);
        Assert.That(dispatcher.LiveTaskCount, Is.Zero, "A rejected submission must not leave a live task behind.");
        return ex;
    }

    public sealed class DoublingHandler : ITaskHandler<int, int>
    {
        public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input * 2);
    }
}
