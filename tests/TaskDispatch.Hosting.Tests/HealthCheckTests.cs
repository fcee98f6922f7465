using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Hosting.Tests;

[TestFixture]
[CancelAfter(60_000)]
public sealed class HealthCheckTests
{
    [Test]
    public async Task A_running_dispatcher_is_healthy_and_its_data_lists_the_queue_and_the_nodes()
    {
        await using var provider = Provider(maxPending: 100);
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["taskdispatch-default"];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
        Assert.That(entry.Data["status"], Is.EqualTo("Running"));
        Assert.That(entry.Data["maxPendingTasks"], Is.EqualTo(100));
        Assert.That(entry.Data["waitingTasks"], Is.EqualTo(0L));
        Assert.That(entry.Data["node:a"], Is.EqualTo("Healthy, 0/1 slots busy"));
        Assert.That(entry.Data["node:b"], Is.EqualTo("Healthy, 0/1 slots busy"));
    }

    [Test]
    public async Task Every_node_out_of_service_makes_it_degraded()
    {
        await using var provider = Provider(maxPending: 100);
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        dispatcher.SetNodeHealth("a", NodeHealth.Unavailable);
        Assert.That(await StatusAsync(provider), Is.EqualTo(HealthStatus.Healthy), "one node still takes work");

        dispatcher.SetNodeHealth("b", NodeHealth.Quarantined);
        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["taskdispatch-default"];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(entry.Description, Does.Contain("no node that accepts work"));
        Assert.That(entry.Data["node:b"], Does.StartWith("Quarantined"));
    }

    [Test]
    public async Task A_queue_near_its_bound_makes_it_degraded()
    {
        await using var provider = Provider(maxPending: 10);
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handles = new List<TaskHandle>();
        for (var i = 0; i < 2; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(_ => new ValueTask(gate.Task)));
        }

        // Both slots busy before the rest arrive, so that exactly the rest wait.
        await TestTimeouts.WaitUntilAsync(() => dispatcher.Nodes.Sum(node => node.ActiveTasks) == 2, "both slots are busy");
        for (var i = 0; i < 8; i++)
        {
            handles.Add(await dispatcher.SubmitAsync(_ => new ValueTask(gate.Task)));
        }

        Assert.That(await StatusAsync(provider), Is.EqualTo(HealthStatus.Healthy), "8 of 10 waiting is under 90 %");
        handles.Add(await dispatcher.SubmitAsync(_ => new ValueTask(gate.Task)));
        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["taskdispatch-default"];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(entry.Data["waitingTasks"], Is.EqualTo(9L));

        gate.SetResult();
        await Task.WhenAll(handles.Select(handle => handle.Completion));
        Assert.That(await StatusAsync(provider), Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public async Task A_stopped_dispatcher_is_unhealthy()
    {
        await using var provider = Provider(maxPending: 100);
        await provider.GetRequiredService<ITaskDispatcher>().StopAsync();
        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["taskdispatch-default"];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.Contain("is stopped"));
    }

    [Test]
    public void A_queue_ratio_outside_zero_to_one_is_refused()
    {
        var builder = new ServiceCollection().AddHealthChecks();
        Assert.That(() => builder.AddTaskDispatch(queueDegradedRatio: 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("queueDegradedRatio"));
        Assert.That(() => builder.AddTaskDispatch(queueDegradedRatio: 1.5), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static ServiceProvider Provider(int maxPending)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddTaskDispatch(options => options.MaxPendingTasks = maxPending).AddNode("a", node => node.WithConcurrency(1)).AddNode("b", node => node.WithConcurrency(1));
        services.AddHealthChecks().AddTaskDispatch();
        return services.BuildServiceProvider();
    }

    private static async Task<HealthStatus> StatusAsync(IServiceProvider provider) =>
        (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status;
}
