using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.DependencyInjection;

[TestFixture]
[CancelAfter(60_000)]
public sealed class TaskDispatchServiceCollectionExtensionsTests
{
    // ---------------------------------------------------------------- registration

    [Test]
    public async Task AddTaskDispatch_NothingConfigured_ResolvesDefaultDispatcherWithOneProcessorCountNode()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch();
        await using var provider = services.BuildServiceProvider();

        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        Assert.That(dispatcher.Name, Is.EqualTo(TaskDispatcherDefaults.Name));
        Assert.That(dispatcher.Nodes, Has.Count.EqualTo(1));
        Assert.That(dispatcher.Nodes[0].Name, Is.EqualTo("default"));
        Assert.That(dispatcher.Nodes[0].MaxConcurrency, Is.EqualTo(Environment.ProcessorCount));
        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName));
        Assert.That(await handle, Is.EqualTo("default"));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public void AddTaskDispatch_ReturnsBuilderNamedAfterTheDispatcher()
    {
        var services = new ServiceCollection();

        var unnamed = services.AddTaskDispatch();
        var named = services.AddTaskDispatch("reports");

        Assert.That(unnamed.Name, Is.EqualTo("default"));
        Assert.That(named.Name, Is.EqualTo("reports"));
        Assert.That(unnamed.Services, Is.SameAs(services));
        Assert.That(named.Services, Is.SameAs(services));
    }

    [TestCase("")]
    [TestCase("  ")]
    public void AddTaskDispatch_EmptyName_ThrowsArgumentException(string name)
    {
        var services = new ServiceCollection();

        var ex = Assert.Throws<ArgumentException>(() => services.AddTaskDispatch(name));

        Assert.That(ex?.ParamName, Is.EqualTo("name"));
    }

    [Test]
    public async Task AddTaskDispatch_CalledTwiceWithSameName_OneDispatcherWithBothConfigurations()
    {
        var services = new ServiceCollection();
        var first = services.AddTaskDispatch(static options => options.MaxPendingTasks = 1)
            .AddNode("x", static node => node.WithConcurrency(1));
        var second = services.AddTaskDispatch(static options => options.FullMode = QueueFullMode.Reject)
            .AddNode("y", static node => node.WithConcurrency(1).WithTags("y"));
        await using var provider = services.BuildServiceProvider();

        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        Assert.That((object)first, Is.SameAs(second));
        Assert.That(provider.GetRequiredService<ITaskDispatcher>(), Is.SameAs(dispatcher));
        Assert.That(dispatcher.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "x", "y" }));

        // Both option callbacks apply: one pending task fills the dispatcher (first call), and the next is rejected (second call).
        var started = new Signal();
        var release = new Signal();
        var blocker = await dispatcher.SubmitAsync(async _ =>
        {
            started.Set();
            await release.Task;
        }, new TaskOptions { RequiredNode = "y" });
        await started.WaitAsync();
        var pending = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { RequiredNode = "y" });

        await Assert.ThrowsAsync<TaskRejectedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Is.False);

        release.Set();
        await blocker;
        await pending;
        Assert.That(pending.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task AddTaskDispatch_TwoNames_ResolvesDistinctKeyedDispatchersWithTheirOwnNodes()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch("a").AddNode("a1", static node => node.WithConcurrency(1));
        services.AddTaskDispatch("b")
            .AddNode("b1", static node => node.WithConcurrency(1))
            .AddNode("b2", static node => node.WithConcurrency(2));
        await using var provider = services.BuildServiceProvider();

        var a = provider.GetRequiredKeyedService<ITaskDispatcher>("a");
        var b = provider.GetRequiredKeyedService<ITaskDispatcher>("b");

        Assert.That(a, Is.Not.SameAs(b));
        Assert.That(provider.GetRequiredKeyedService<ITaskDispatcher>("a"), Is.SameAs(a));
        Assert.That(a.Name, Is.EqualTo("a"));
        Assert.That(b.Name, Is.EqualTo("b"));
        Assert.That(a.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "a1" }));
        Assert.That(b.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "b1", "b2" }));
        Assert.That(b.Nodes.Select(static n => n.MaxConcurrency), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(await await a.SubmitAsync(static context => ValueTask.FromResult(context.NodeName)), Is.EqualTo("a1"));
        Assert.That(await await b.SubmitAsync(static context => ValueTask.FromResult(context.NodeName), new TaskOptions { RequiredNode = "b2" }), Is.EqualTo("b2"));
    }

    [Test]
    public async Task AddTaskDispatch_OnlyNamedDispatchers_NoUnkeyedDispatcherIsRegistered()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch("a");
        await using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetService<ITaskDispatcher>(), Is.Null);
        Assert.That(provider.GetKeyedService<ITaskDispatcher>("default"), Is.Null);
        Assert.That(provider.GetKeyedService<ITaskDispatcher>("a"), Is.Not.Null);
    }

    [Test]
    public async Task AddTaskDispatch_Default_UnkeyedIsSameInstanceAsKeyedDefault()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch();
        services.AddTaskDispatch("other");
        await using var provider = services.BuildServiceProvider();

        var unkeyed = provider.GetRequiredService<ITaskDispatcher>();
        var keyed = provider.GetRequiredKeyedService<ITaskDispatcher>(TaskDispatcherDefaults.Name);

        Assert.That(unkeyed, Is.SameAs(keyed));
        Assert.That(provider.GetRequiredKeyedService<ITaskDispatcher>("other"), Is.Not.SameAs(unkeyed));
    }

    [Test]
    public async Task AddTaskDispatch_ExplicitDefaultName_ConfiguresTheSameDispatcherAsUnnamed()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("x", static node => node.WithConcurrency(1));
        services.AddTaskDispatch(TaskDispatcherDefaults.Name).AddNode("y", static node => node.WithConcurrency(1));
        await using var provider = services.BuildServiceProvider();

        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        Assert.That(dispatcher.Nodes.Select(static n => n.Name), Is.EqualTo(new[] { "x", "y" }));
    }

    [Test]
    public async Task AddTaskDispatch_InvalidOptions_ThrowWhenTheDispatcherIsResolved()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch(static options => options.MaxPendingTasks = 0);
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => provider.GetRequiredService<ITaskDispatcher>());

        Assert.That(ex?.ParamName, Is.EqualTo(nameof(TaskDispatcherOptions.MaxPendingTasks)));
    }

    // ---------------------------------------------------------------- policies

    [TestCase("instance")]
    [TestCase("factory")]
    [TestCase("generic")]
    public async Task UseScheduling_EachOverload_PolicyReceivesEveryTask(string overload)
    {
        var probe = new PolicyProbe();
        var services = new ServiceCollection().AddSingleton(probe);
        var dispatch = services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        _ = overload switch
        {
            "instance" => dispatch.UseScheduling(new CountingSchedulingPolicy(probe)),
            "factory" => dispatch.UseScheduling(static sp => new CountingSchedulingPolicy(sp.GetRequiredService<PolicyProbe>())),
            _ => dispatch.UseScheduling<CountingSchedulingPolicy>(),
        };
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var handles = new List<TaskHandle>();
        for (var i = 0; i < 3; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        }

        foreach (var handle in handles)
        {
            await handle;
        }

        Assert.That(probe.Enqueued.OrderBy(static id => id, StringComparer.Ordinal), Is.EqualTo(handles.Select(static h => h.Id).OrderBy(static id => id, StringComparer.Ordinal)));
    }

    [TestCase("instance")]
    [TestCase("factory")]
    [TestCase("generic")]
    public async Task UseAllocation_EachOverload_StrategyPicksTheNode(string overload)
    {
        var probe = new PolicyProbe();
        var services = new ServiceCollection().AddSingleton(probe);
        var dispatch = services.AddTaskDispatch()
            .AddNode("first", static node => node.WithConcurrency(1))
            .AddNode("second", static node => node.WithConcurrency(1));
        _ = overload switch
        {
            "instance" => dispatch.UseAllocation(new LastCandidateAllocationStrategy(probe)),
            "factory" => dispatch.UseAllocation(static sp => new LastCandidateAllocationStrategy(sp.GetRequiredService<PolicyProbe>())),
            _ => dispatch.UseAllocation<LastCandidateAllocationStrategy>(),
        };
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        // Both nodes are idle for the first task: round-robin (the default) would pick "first", this strategy picks "second".
        var firstTask = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName));
        Assert.That(await firstTask, Is.EqualTo("second"));

        var more = new List<TaskHandle>();
        for (var i = 0; i < 3; i++)
        {
            more.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        }

        foreach (var handle in more.Prepend(firstTask))
        {
            await handle;
            Assert.That(probe.Placements.TryGetValue(handle.Id, out var chosen), Is.True, $"The strategy never placed {handle.Id}.");
            Assert.That(handle.NodeName, Is.EqualTo(chosen));
        }
    }

    [TestCase("instance")]
    [TestCase("factory")]
    [TestCase("generic")]
    public async Task UseRecovery_EachOverload_PolicyRetriesAFailedAttempt(string overload)
    {
        var probe = new PolicyProbe();
        var services = new ServiceCollection().AddSingleton(probe);
        var dispatch = services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        _ = overload switch
        {
            "instance" => dispatch.UseRecovery(new RetryOnceRecoveryPolicy(probe)),
            "factory" => dispatch.UseRecovery(static sp => new RetryOnceRecoveryPolicy(sp.GetRequiredService<PolicyProbe>())),
            _ => dispatch.UseRecovery<RetryOnceRecoveryPolicy>(),
        };
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        // No MaxRetryAttempts: the default policy would give up after one attempt; this one retries once.
        var flaky = await dispatcher.SubmitAsync(static context =>
            context.Attempt == 1 ? throw new InvalidOperationException("first attempt fails") : ValueTask.FromResult(context.Attempt));
        var hopeless = await dispatcher.SubmitAsync<int>(static _ => throw new InvalidOperationException("always fails"));

        Assert.That(await flaky, Is.EqualTo(2));
        Assert.That(flaky.Attempts, Is.EqualTo(2));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await hopeless);
        Assert.That(ex?.Message, Is.EqualTo("always fails"));
        Assert.That(hopeless.Attempts, Is.EqualTo(2));
        Assert.That(probe.Decisions.Where(d => d.TaskId == flaky.Id).Select(static d => d.Attempt), Is.EqualTo(new[] { 1 }));
        Assert.That(probe.Decisions.Where(d => d.TaskId == hopeless.Id).Select(static d => d.Attempt), Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public async Task UseScheduling_TwoDispatchersWithGenericOverload_EachGetsItsOwnInstance()
    {
        var services = new ServiceCollection().AddSingleton<PolicyProbe>();
        services.AddTaskDispatch("a").UseScheduling<CountingSchedulingPolicy>().AddNode("n", static node => node.WithConcurrency(1));
        services.AddTaskDispatch("b").UseScheduling<CountingSchedulingPolicy>().AddNode("n", static node => node.WithConcurrency(1));
        await using var provider = services.BuildServiceProvider();
        var probe = provider.GetRequiredService<PolicyProbe>();

        var a = provider.GetRequiredKeyedService<ITaskDispatcher>("a");
        var b = provider.GetRequiredKeyedService<ITaskDispatcher>("b");
        await await a.SubmitAsync(static _ => ValueTask.CompletedTask);
        await await b.SubmitAsync(static _ => ValueTask.CompletedTask);

        Assert.That(probe.SchedulingPolicies.Distinct().Count(), Is.EqualTo(2));
        Assert.That(probe.Enqueued, Has.Count.EqualTo(2));
    }

    // ---------------------------------------------------------------- observers and callbacks

    [Test]
    public async Task AddObserverGeneric_RegisteredObserver_HearsEachTaskCompleteExactlyOnce()
    {
        var services = new ServiceCollection().AddSingleton<RecordingObserver>();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(2)).AddObserver<RecordingObserver>();
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        var observer = provider.GetRequiredService<RecordingObserver>();

        var ids = await RunMixedTasksAsync(dispatcher);

        Assert.That(observer.Completions.Keys, Is.EquivalentTo(ids));
        Assert.That(observer.Completions.Values, Is.All.EqualTo(1));
        Assert.That(observer.TerminalChanges.Keys, Is.EquivalentTo(ids));
        Assert.That(observer.TerminalChanges.Values, Is.All.EqualTo(1));
    }

    [Test]
    public async Task AddObserverGeneric_UnregisteredObserver_IsCreatedWithItsDependencies()
    {
        var probe = new PolicyProbe();
        var services = new ServiceCollection().AddSingleton(probe);
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(2)).AddObserver<ProbeObserver>();
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var ids = await RunMixedTasksAsync(dispatcher);

        Assert.That(probe.Completed.Keys, Is.EquivalentTo(ids));
        Assert.That(probe.Completed.Values, Is.All.EqualTo(1));
    }

    [Test]
    public async Task AddObserver_Instance_HearsEachTaskCompleteExactlyOnce()
    {
        var observer = new RecordingObserver();
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(2)).AddObserver(observer);
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var ids = await RunMixedTasksAsync(dispatcher);

        Assert.That(observer.Completions.Keys, Is.EquivalentTo(ids));
        Assert.That(observer.Completions.Values, Is.All.EqualTo(1));
    }

    [Test]
    public async Task OnTaskCompleted_TwoCallbacks_EachRunsExactlyOncePerTask()
    {
        var first = new ConcurrentDictionary<string, int>();
        var second = new ConcurrentDictionary<string, int>();
        var terminalStates = new ConcurrentDictionary<string, TaskState>();
        var services = new ServiceCollection();
        services.AddTaskDispatch()
            .AddNode("n", static node => node.WithConcurrency(2))
            .OnTaskCompleted(task =>
            {
                first.AddOrUpdate(task.Id, 1, static (_, n) => n + 1);
                terminalStates[task.Id] = task.State;
            });
        services.AddTaskDispatch().OnTaskCompleted(task => second.AddOrUpdate(task.Id, 1, static (_, n) => n + 1));
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var ids = await RunMixedTasksAsync(dispatcher);

        Assert.That(first.Keys, Is.EquivalentTo(ids));
        Assert.That(first.Values, Is.All.EqualTo(1));
        Assert.That(second.Keys, Is.EquivalentTo(ids));
        Assert.That(second.Values, Is.All.EqualTo(1));
        Assert.That(terminalStates.Values, Is.All.Matches<TaskState>(static s => s.IsTerminal()));
        Assert.That(terminalStates.Values, Does.Contain(TaskState.Completed).And.Contain(TaskState.Failed).And.Contain(TaskState.Cancelled));
    }

    // ---------------------------------------------------------------- handler tasks

    [Test]
    public async Task SubmitAsyncHandler_RetriedAttempt_EachAttemptGetsAFreshScopeThatIsDisposed()
    {
        var log = new ScopeLog();
        var services = new ServiceCollection()
            .AddSingleton(log)
            .AddScoped<ScopedResource>()
            .AddScoped<FailsOnceHandler>();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var handle = await dispatcher.SubmitAsync<FailsOnceHandler, int, int>(21, new TaskOptions { MaxRetryAttempts = 1 });

        Assert.That(await handle, Is.EqualTo(42));
        Assert.That(handle.Attempts, Is.EqualTo(2));
        var created = log.Created.ToArray();
        Assert.That(created, Has.Length.EqualTo(2));
        Assert.That(created[0], Is.Not.SameAs(created[1]));
        Assert.That(created, Is.All.Matches<ScopedResource?>(static r => r?.DisposeCount == 1), "Each attempt's scope disposes its scoped resource exactly once.");
        Assert.That(log.Uses.Select(static u => u.Attempt), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(log.Uses.Select(static u => u.Resource), Is.EqualTo(created));
        Assert.That(log.Handlers.Distinct().Count(), Is.EqualTo(2), "The handler is resolved again for every attempt.");
        Assert.That(log.DisposedWhileInUse, Is.All.False, "A scoped resource stays alive while its attempt runs.");
    }

    [Test]
    public async Task SubmitAsyncHandler_FailingHandlerWithoutRetry_ScopeStillDisposed()
    {
        var log = new ScopeLog();
        var services = new ServiceCollection()
            .AddSingleton(log)
            .AddScoped<ScopedResource>()
            .AddScoped<FailsOnceHandler>();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var handle = await dispatcher.SubmitAsync<FailsOnceHandler, int, int>(21);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
        Assert.That(log.Created, Has.Count.EqualTo(1));
        Assert.That(log.Created.Single().DisposeCount, Is.EqualTo(1));
    }

    [Test]
    public async Task SubmitAsyncHandler_UnregisteredHandler_IsCreatedWithItsDependenciesAndDisposed()
    {
        var log = new ScopeLog();
        var services = new ServiceCollection()
            .AddSingleton(log)
            .AddScoped<ScopedResource>();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var handle = await dispatcher.SubmitAsync<UnregisteredHandler, string, string>("hello");

        Assert.That(await handle, Is.EqualTo("HELLO"));
        Assert.That(log.Created, Has.Count.EqualTo(1));
        Assert.That(log.Created.Single().DisposeCount, Is.EqualTo(1));
        Assert.That(log.Handlers.Single(), Is.InstanceOf<UnregisteredHandler>());
        Assert.That(((UnregisteredHandler)log.Handlers.Single()).Disposed, Is.True, "A handler the dispatcher created is the dispatcher's to dispose.");
    }

    [Test]
    public async Task SubmitAsyncHandler_NamedDispatcher_ResolvesFromTheContainer()
    {
        var log = new ScopeLog();
        var services = new ServiceCollection()
            .AddSingleton(log)
            .AddScoped<ScopedResource>();
        services.AddTaskDispatch("handlers").AddNode("n", static node => node.WithConcurrency(1));
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredKeyedService<ITaskDispatcher>("handlers");

        var handle = await dispatcher.SubmitAsync<UnregisteredHandler, string, string>("x");

        Assert.That(await handle, Is.EqualTo("X"));
    }

    // ---------------------------------------------------------------- container disposal

    [Test]
    public async Task DisposeAsync_ServiceProvider_StopsTheDispatcher()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        await provider.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.Throws<ObjectDisposedException>(() => dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _));
    }

    [Test]
    public async Task Dispose_ServiceProvider_StopsTheDispatcher()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        provider.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(1)));
    }

    [Test]
    public async Task DisposeAsync_ServiceProvider_StopsNamedDispatchersToo()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch("a").AddNode("n", static node => node.WithConcurrency(1));
        services.AddTaskDispatch("b").AddNode("n", static node => node.WithConcurrency(1));
        var provider = services.BuildServiceProvider();
        var a = provider.GetRequiredKeyedService<ITaskDispatcher>("a");
        var b = provider.GetRequiredKeyedService<ITaskDispatcher>("b");

        await provider.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await a.SubmitAsync(static _ => ValueTask.CompletedTask));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await b.SubmitAsync(static _ => ValueTask.CompletedTask));
    }

    [Test]
    public async Task DisposeAsync_ServiceProvider_DrainsRunningDelegateTask()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        var started = new Signal();
        var release = new Signal();
        var running = await dispatcher.SubmitAsync(async _ =>
        {
            started.Set();
            await release.Task;
            return 5;
        });
        await started.WaitAsync();

        var disposing = provider.DisposeAsync().AsTask();
        release.Set();
        await disposing.WaitAsync(TestTimeouts.Generous);

        Assert.That(await running, Is.EqualTo(5));
        Assert.That(running.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task DisposeAsync_ServiceProvider_CancelsQueuedHandlerTaskItCanNoLongerResolve()
    {
        var log = new ScopeLog();
        var services = new ServiceCollection()
            .AddSingleton(log)
            .AddScoped<ScopedResource>();
        services.AddTaskDispatch().AddNode("n", static node => node.WithConcurrency(1));
        var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        var started = new Signal();
        var release = new Signal();
        var blocker = await dispatcher.SubmitAsync(async _ =>
        {
            started.Set();
            await release.Task;
        });
        await started.WaitAsync();
        var queued = await dispatcher.SubmitAsync<UnregisteredHandler, string, string>("drained");

        // The container disposes itself before its singletons, so while the dispatcher drains, a queued handler task can no
        // longer get a scope: it ends Cancelled (a shutdown), never Failed, and its handle completes.
        var disposing = provider.DisposeAsync().AsTask();
        await Assert.CatchAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        release.Set();
        await disposing.WaitAsync(TestTimeouts.Generous);

        await blocker;
        Assert.That(queued.IsFinished, Is.True);
        Assert.That(queued.Exception, Is.Null, $"The queued handler task failed while draining: {queued.Exception}");
        Assert.That(queued.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(queued.Completion.IsCanceled, Is.True);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Runs three completing tasks, one failing and one cancelled before it starts; stops the dispatcher; returns their ids.</summary>
    private static async Task<string[]> RunMixedTasksAsync(ITaskDispatcher dispatcher)
    {
        var handles = new List<TaskHandle>();
        for (var i = 0; i < 3; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        }

        handles.Add(await dispatcher.SubmitAsync(static _ => throw new InvalidOperationException("fails")));
        handles.Add(await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { CancellationToken = new CancellationToken(canceled: true) }));

        foreach (var handle in handles)
        {
            try
            {
                await handle;
            }
            catch (Exception exception) when (exception is InvalidOperationException or OperationCanceledException)
            {
                // Expected for the failing and the cancelled task.
            }
        }

        // After a stop no task is live, so no late notification can arrive.
        await dispatcher.StopAsync(ShutdownMode.Drain, TestTimeouts.Generous);
        return [.. handles.Select(static h => h.Id)];
    }

    public sealed class PolicyProbe
    {
        public ConcurrentQueue<string> Enqueued { get; } = new();

        public ConcurrentQueue<object> SchedulingPolicies { get; } = new();

        public ConcurrentDictionary<string, string> Placements { get; } = new();

        public ConcurrentQueue<(string TaskId, int Attempt)> Decisions { get; } = new();

        public ConcurrentDictionary<string, int> Completed { get; } = new();
    }

    /// <summary>First-come-first-served, recording every task it is given.</summary>
    public sealed class CountingSchedulingPolicy : ISchedulingPolicy
    {
        private readonly FirstComeFirstServedPolicy _inner = new();
        private readonly PolicyProbe _probe;

        public CountingSchedulingPolicy(PolicyProbe probe)
        {
            _probe = probe;
            probe.SchedulingPolicies.Enqueue(this);
        }

        public int Count => _inner.Count;

        public void Enqueue(TaskHandle task)
        {
            _probe.Enqueued.Enqueue(task.Id);
            _inner.Enqueue(task);
        }

        public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task) => _inner.TryDequeue(out task);

        public bool Remove(TaskHandle task) => _inner.Remove(task);
    }

    /// <summary>Always picks the last candidate and records the choice.</summary>
    public sealed class LastCandidateAllocationStrategy(PolicyProbe probe) : IAllocationStrategy
    {
        public int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates)
        {
            var chosen = candidates.Length - 1;
            probe.Placements[task.Id] = candidates[chosen].Name;
            return chosen;
        }
    }

    /// <summary>Retries once, at once, whatever the task's options say.</summary>
    public sealed class RetryOnceRecoveryPolicy(PolicyProbe probe) : IRecoveryPolicy
    {
        public RecoveryDecision Decide(in RecoveryContext context)
        {
            probe.Decisions.Enqueue((context.Task.Id, context.Attempt));
            return context.Attempt == 1 ? RecoveryDecision.Retry() : RecoveryDecision.GiveUp;
        }
    }

    public sealed class ProbeObserver(PolicyProbe probe) : ITaskObserver
    {
        public void OnStateChanged(TaskStateChange change)
        {
        }

        public void OnCompleted(TaskHandle task) => probe.Completed.AddOrUpdate(task.Id, 1, static (_, n) => n + 1);
    }

    public sealed class ScopeLog
    {
        public ConcurrentQueue<ScopedResource> Created { get; } = new();

        public ConcurrentQueue<(int Attempt, ScopedResource Resource)> Uses { get; } = new();

        public ConcurrentQueue<object> Handlers { get; } = new();

        public ConcurrentQueue<bool> DisposedWhileInUse { get; } = new();
    }

    /// <summary>A scoped dependency that records its creation and disposal (through either interface).</summary>
    public sealed class ScopedResource : IDisposable, IAsyncDisposable
    {
        private int _disposeCount;

        public ScopedResource(ScopeLog log)
        {
            log.Created.Enqueue(this);
        }

        public int DisposeCount => Volatile.Read(ref _disposeCount);

        public void Dispose() => Interlocked.Increment(ref _disposeCount);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Fails its first attempt and doubles the input on a later one.</summary>
    public sealed class FailsOnceHandler(ScopedResource resource, ScopeLog log) : ITaskHandler<int, int>
    {
        public ValueTask<int> HandleAsync(int input, TaskContext context)
        {
            log.Handlers.Enqueue(this);
            log.Uses.Enqueue((context.Attempt, resource));
            log.DisposedWhileInUse.Enqueue(resource.DisposeCount != 0);
            return context.Attempt == 1
                ? throw new InvalidOperationException("first attempt fails")
                : ValueTask.FromResult(input * 2);
        }
    }

    /// <summary>Not registered in the container: created with its constructor dependencies.</summary>
    public sealed class UnregisteredHandler(ScopedResource resource, ScopeLog log) : ITaskHandler<string, string>, IDisposable
    {
        public bool Disposed { get; private set; }

        public ValueTask<string> HandleAsync(string input, TaskContext context)
        {
            log.Handlers.Enqueue(this);
            log.Uses.Enqueue((context.Attempt, resource));
            return ValueTask.FromResult(input.ToUpperInvariant());
        }

        public void Dispose() => Disposed = true;
    }
}
