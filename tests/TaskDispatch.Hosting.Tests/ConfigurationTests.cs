using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Hosting.Tests;

[TestFixture]
[CancelAfter(60_000)]
public sealed class ConfigurationTests
{
    [Test]
    public async Task A_section_sets_the_options_the_nodes_and_the_built_in_policies_by_name()
    {
        await using var provider = Provider(Configuration(new()
        {
            ["TaskDispatch:MaxPendingTasks"] = "500",
            ["TaskDispatch:Nodes:cpu:MaxConcurrency"] = "3",
            ["TaskDispatch:Nodes:cpu:Weight"] = "1",
            ["TaskDispatch:Nodes:gpu:MaxConcurrency"] = "1",
            ["TaskDispatch:Nodes:gpu:Weight"] = "3",
            ["TaskDispatch:Nodes:gpu:Tags:0"] = "cuda",
            ["TaskDispatch:Nodes:gpu:Tags:1"] = "fast",
            ["TaskDispatch:Nodes:gpu:Resources:vram"] = "24",
            ["TaskDispatch:Scheduling:Policy"] = "priority",
            ["TaskDispatch:Recovery:Policy"] = "Retry",
            ["TaskDispatch:Recovery:MaxRetryAttempts"] = "2",
            ["TaskDispatch:Recovery:Delay"] = "00:00:00",
        }));
        var dispatcher = (TaskDispatcher)provider.GetRequiredService<ITaskDispatcher>();

        Assert.That(dispatcher.MaxPendingTasks, Is.EqualTo(500));
        var cpu = dispatcher.Nodes.Single(node => node.Name == "cpu");
        var gpu = dispatcher.Nodes.Single(node => node.Name == "gpu");
        Assert.That((cpu.MaxConcurrency, cpu.Weight), Is.EqualTo((3, 1.0)));
        Assert.That((gpu.MaxConcurrency, gpu.Weight), Is.EqualTo((1, 3.0)));
        Assert.That(gpu.Tags, Is.EquivalentTo(new[] { "cuda", "fast" }));
        Assert.That(gpu.ResourceCapacity["vram"], Is.EqualTo(24));

        // Retry with two retries: a task that always fails makes three attempts.
        var failing = await dispatcher.SubmitAsync(_ => throw new InvalidOperationException("always"));
        Assert.That(async () => await failing, Throws.InvalidOperationException);
        Assert.That(failing.Attempts, Is.EqualTo(3));

        // The priority policy: with every slot busy, the waiting tasks start by priority, not by arrival.
        var started = new List<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blockers = new List<TaskHandle>();
        for (var i = 0; i < 4; i++)
        {
            var blockerStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            blockers.Add(await dispatcher.SubmitAsync(_ =>
            {
                blockerStarted.SetResult();
                return new ValueTask(gate.Task);
            }));
            await blockerStarted.Task;
        }

        var handles = new List<TaskHandle>();
        foreach (var priority in new[] { 1, 5, 3 })
        {
            handles.Add(await dispatcher.SubmitAsync(_ =>
            {
                lock (started)
                {
                    started.Add(priority);
                }

                return ValueTask.CompletedTask;
            }, new TaskOptions { Priority = priority, RequiredNode = "gpu" }));
        }

        gate.SetResult();
        await Task.WhenAll(blockers.Select(blocker => blocker.Completion));
        await Task.WhenAll(handles.Select(handle => handle.Completion));
        Assert.That(started, Is.EqualTo(new[] { 5, 3, 1 }));
    }

    [Test]
    public async Task FullMode_Reject_from_the_section_refuses_a_submission_past_MaxPendingTasks()
    {
        await using var provider = Provider(Configuration(new()
        {
            ["TaskDispatch:MaxPendingTasks"] = "2",
            ["TaskDispatch:FullMode"] = "Reject",
            ["TaskDispatch:Nodes:only:MaxConcurrency"] = "1",
        }));
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        // One task holds the only slot; two wait, which is all MaxPendingTasks allows.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = await dispatcher.SubmitAsync(_ =>
        {
            running.SetResult();
            return new ValueTask(gate.Task);
        });
        await running.Task;
        var waiting = new[] { await dispatcher.SubmitAsync(_ => ValueTask.CompletedTask), await dispatcher.SubmitAsync(_ => ValueTask.CompletedTask) };

        // Wait mode would block here instead, until the deadline fails the test.
        Assert.That(
            async () => await dispatcher.SubmitAsync(_ => ValueTask.CompletedTask).AsTask().WaitAsync(TimeSpan.FromSeconds(30)),
            Throws.TypeOf<TaskRejectedException>());

        gate.SetResult();
        await blocker;
        await Task.WhenAll(waiting.Select(handle => handle.Completion));
    }

    [Test]
    public async Task NodeCircuitBreaker_from_the_section_opens_after_its_consecutive_failures()
    {
        await using var provider = Provider(Configuration(new()
        {
            ["TaskDispatch:NodeCircuitBreaker:ConsecutiveFailures"] = "2",
            ["TaskDispatch:NodeCircuitBreaker:BreakDuration"] = "01:00:00",
            ["TaskDispatch:Nodes:flaky:MaxConcurrency"] = "1",
            ["TaskDispatch:Nodes:spare:MaxConcurrency"] = "1",
            ["TaskDispatch:Recovery:Policy"] = "None",
        }));
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        // Two failures in a row: the default (five) would leave the node healthy.
        for (var i = 0; i < 2; i++)
        {
            Assert.That(dispatcher.Nodes.Single(node => node.Name == "flaky").Health, Is.EqualTo(NodeHealth.Healthy), $"before failure {i + 1}");
            var failing = await dispatcher.SubmitAsync(_ => throw new InvalidOperationException("down"), new TaskOptions { RequiredNode = "flaky" });
            Assert.That(async () => await failing, Throws.InvalidOperationException);
        }

        // The node list shows the breaker's decision once the scheduler has recounted the nodes, which may be just after
        // the task's end reached its awaiter.
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes.Single(node => node.Name == "flaky").Health == NodeHealth.Quarantined, "the breaker quarantined node 'flaky'");
        Assert.That(dispatcher.Nodes.Single(node => node.Name == "spare").Health, Is.EqualTo(NodeHealth.Healthy));
    }

    [Test]
    public async Task A_seeded_allocation_from_the_section_places_the_same_tasks_on_the_same_nodes_every_time()
    {
        var configuration = Configuration(new()
        {
            ["TaskDispatch:Nodes:light:MaxConcurrency"] = "1",
            ["TaskDispatch:Nodes:light:Weight"] = "1",
            ["TaskDispatch:Nodes:heavy:MaxConcurrency"] = "1",
            ["TaskDispatch:Nodes:heavy:Weight"] = "3",
            ["TaskDispatch:Allocation:Strategy"] = "WeightedRandom",
            ["TaskDispatch:Allocation:Seed"] = "42",
        });

        // Unseeded, two runs of 30 one-at-a-time placements over weights 1:3 would agree with probability about 1e-6.
        var first = await PlacementsAsync(configuration);
        var second = await PlacementsAsync(configuration);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(first.Distinct(), Is.EquivalentTo(new[] { "light", "heavy" }));
    }

    [Test]
    public async Task Named_dispatchers_bind_from_their_own_sub_sections()
    {
        var configuration = Configuration(new()
        {
            ["TaskDispatch:Emails:MaxPendingTasks"] = "10",
            ["TaskDispatch:Emails:Nodes:smtp:MaxConcurrency"] = "2",
            ["TaskDispatch:Reports:MaxPendingTasks"] = "20",
            ["TaskDispatch:Reports:Scheduling:Policy"] = "ShortestJobFirst",
            ["TaskDispatch:Reports:Scheduling:DefaultEstimate"] = "00:00:02",
        });
        var services = new ServiceCollection().AddLogging();
        services.AddTaskDispatch("emails", configuration.GetSection("TaskDispatch:Emails"));
        services.AddTaskDispatch("reports", configuration.GetSection("TaskDispatch:Reports"));
        await using var provider = services.BuildServiceProvider();

        var emails = (TaskDispatcher)provider.GetRequiredKeyedService<ITaskDispatcher>("emails");
        var reports = (TaskDispatcher)provider.GetRequiredKeyedService<ITaskDispatcher>("reports");
        Assert.That((emails.Name, emails.MaxPendingTasks, emails.Nodes.Single().Name, emails.Nodes.Single().MaxConcurrency), Is.EqualTo(("emails", 10, "smtp", 2)));
        Assert.That((reports.Name, reports.MaxPendingTasks), Is.EqualTo(("reports", 20)));
    }

    [TestCase("TaskDispatch:MaxPendingTask", "100", "TaskDispatch:MaxPendingTask", "is not a setting TaskDispatch knows here")]
    [TestCase("TaskDispatch:Nodes:cpu:Concurency", "4", "TaskDispatch:Nodes:cpu:Concurency", "is not a setting")]
    [TestCase("TaskDispatch:Scheduling:AgingInterval", "00:00:05", "TaskDispatch:Scheduling:Policy", "is missing")]
    [TestCase("TaskDispatch:Scheduling:Policy", "Lottery", "TaskDispatch:Scheduling:Policy", "is 'Lottery', which is not a built-in choice")]
    [TestCase("TaskDispatch:Allocation:Strategy", "RoundRobin", null, null)]
    [TestCase("TaskDispatch:Allocation:Seed", "1", "TaskDispatch:Allocation:Strategy", "is missing")]
    [TestCase("TaskDispatch:MaxPendingTasks", "0", "TaskDispatch:MaxPendingTasks", "MaxPendingTasks must be at least 1, was 0")]
    [TestCase("TaskDispatch:MaxPendingTasks", "lots", "TaskDispatch", "could not be read")]
    [TestCase("TaskDispatch:Nodes:cpu:MaxConcurrency", "0", "TaskDispatch:Nodes:cpu:MaxConcurrency", "must be at least 1, was 0")]
    [TestCase("TaskDispatch:NodeCircuitBreaker:FailureRatios", "0.5", "TaskDispatch:NodeCircuitBreaker:FailureRatios", "is not a setting")]
    public void A_wrong_key_or_value_is_refused_at_registration_by_its_key(string key, string value, string? reportedKey, string? problem)
    {
        var configuration = Configuration(new() { [key] = value, ["TaskDispatch:DeadLetterCapacity"] = "10" });
        if (key == "TaskDispatch:Allocation:Strategy")
        {
            Assert.That(() => new ServiceCollection().AddTaskDispatch(configuration.GetSection("TaskDispatch")), Throws.Nothing);
            return;
        }

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTaskDispatch("orders", configuration.GetSection("TaskDispatch")));
        Assert.That(error!.Message, Does.StartWith($"TaskDispatch dispatcher 'orders': configuration key '{reportedKey}' "));
        Assert.That(error.Message, Does.Contain(problem));
    }

    [Test]
    public void A_missing_section_is_refused_rather_than_running_on_defaults()
    {
        var configuration = Configuration(new() { ["TaskDispatch:MaxPendingTasks"] = "5" });
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTaskDispatch(configuration.GetSection("TaskDispach")));
        Assert.That(error!.Message, Does.Contain("the configuration section 'TaskDispach' does not exist"));
    }

    /// <summary>Where 30 tasks, run one at a time so that both nodes are always free, were placed.</summary>
    private static async Task<List<string>> PlacementsAsync(IConfiguration configuration)
    {
        await using var provider = Provider(configuration);
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        var nodes = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var handle = await dispatcher.SubmitAsync(_ => ValueTask.CompletedTask);
            await handle;
            nodes.Add(handle.NodeName!);
        }

        return nodes;
    }

    /// <summary>A service provider with logging and the dispatcher the <c>TaskDispatch</c> section describes.</summary>
    private static ServiceProvider Provider(IConfiguration configuration)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddTaskDispatch(configuration.GetSection("TaskDispatch"));
        return services.BuildServiceProvider();
    }

    private static IConfigurationRoot Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
