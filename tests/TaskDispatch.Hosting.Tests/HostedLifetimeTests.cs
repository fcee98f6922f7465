using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskDispatch.Hosting.Tests.Support;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Hosting.Tests;

[TestFixture]
[CancelAfter(60_000)]
public sealed class HostedLifetimeTests
{
    private const int HandlerTasks = 10;

    [Test]
    public async Task Handler_tasks_queued_when_the_host_stops_drain_to_completion()
    {
        var recorder = new RecordingLoggerProvider();
        using var host = Host(recorder);
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<ITaskDispatcher>();
        var handles = await SubmitHandlerTasksAsync(dispatcher);

        // Two slots for ten tasks: eight are still queued when the host begins to stop.
        var stop = host.StopAsync();
        host.Services.GetRequiredService<Gate>().Open();
        await stop;

        Assert.That(handles.Select(handle => handle.State), Is.All.EqualTo(TaskState.Completed));
        Assert.That(await Task.WhenAll(handles.Select(handle => handle.Completion)), Is.EqualTo(Enumerable.Range(0, HandlerTasks).Select(i => i * 2)));
        var stopped = recorder.Lines.Single(line => line.EventId.Name == "DispatcherStopped");
        Assert.That(stopped.Message, Does.Contain($"{HandlerTasks} task(s) completed, 0 failed and 0 were cancelled"));
        Assert.That(recorder.Lines.Where(line => line.EventId.Name == "TasksCancelledByStop"), Is.Empty);
    }

    [Test]
    public async Task Without_the_host_a_disposed_container_cancels_queued_handler_tasks_and_the_log_counts_them()
    {
        // What the hosted service prevents, and what the log must not hide: the container refuses new scopes once its
        // disposal begins, so handler tasks that had not started end cancelled.
        var recorder = new RecordingLoggerProvider();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(recorder))
            .AddSingleton<Gate>();
        services.AddTaskDispatch(options => options.ShutdownTimeout = TimeSpan.FromSeconds(30)).AddNode("worker", node => node.WithConcurrency(2));
        var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();
        var handles = await SubmitHandlerTasksAsync(dispatcher);
        await TestTimeouts.WaitUntilAsync(() => recorder.Lines.Count(line => line.Category == typeof(GatedDoubler).FullName) == 2, "two handlers run");

        var gate = provider.GetRequiredService<Gate>();
        var disposal = provider.DisposeAsync().AsTask();
        gate.Open();
        await disposal;

        Assert.That(handles.Count(handle => handle.State == TaskState.Completed), Is.EqualTo(2), "the two that had their scopes");

        var cancelled = handles.Count(handle => handle.State == TaskState.Cancelled);
        Assert.That(cancelled, Is.EqualTo(HandlerTasks - 2));
        var warning = recorder.Lines.Single(line => line.EventId.Name == "TasksCancelledByStop");
        Assert.That(warning.Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(warning.Message, Does.Contain($"cancelled {cancelled} task(s)"));
        Assert.That(recorder.Lines.Single(line => line.EventId.Name == "DispatcherStopped").Message, Does.Contain($"{cancelled} were cancelled (0 of them force-cancelled"));
    }

    [Test]
    public async Task The_hosts_shutdown_token_forces_what_has_not_drained_and_the_stop_says_so()
    {
        var recorder = new RecordingLoggerProvider();
        using var host = Host(recorder, hostShutdown: TimeSpan.FromMilliseconds(200));
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<ITaskDispatcher>();
        var handles = await SubmitHandlerTasksAsync(dispatcher);

        // The gate never opens: the dispatcher's 30 s drain is cut by the host's 200 ms shutdown.
        await host.StopAsync();

        Assert.That(handles.Select(handle => handle.State), Is.All.EqualTo(TaskState.Cancelled));
        var warning = recorder.Lines.Single(line => line.EventId.Name == "TasksCancelledByStop");
        Assert.That(warning.Message, Does.Contain($"cancelled {HandlerTasks} task(s)"));
    }

    [Test]
    public async Task Bad_options_fail_the_hosts_start_naming_the_dispatcher_and_the_setting()
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddTaskDispatch("orders", options => options.MaxPendingTasks = 0);
        builder.Services.AddTaskDispatchHostedService();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("dispatcher 'orders' cannot start"));
        Assert.That(error.Message, Does.Contain("MaxPendingTasks must be at least 1, was 0"));
    }

    [Test]
    public async Task Handler_logs_carry_the_task_id_and_attempt_and_a_failed_task_is_logged_once_as_a_warning()
    {
        var recorder = new RecordingLoggerProvider();
        using var host = Host(recorder, configure: builder => builder.UseRecovery(RecoveryPolicy.Retry(retry =>
        {
            retry.MaxRetryAttempts = 2;
            retry.Delay = TimeSpan.Zero;
        })));
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<ITaskDispatcher>();
        host.Services.GetRequiredService<Gate>().Open();

        var doubled = await dispatcher.SubmitAsync<GatedDoubler, int, int>(21, new TaskOptions { Id = "job-21" });
        Assert.That(await doubled, Is.EqualTo(42));
        var handlerLine = recorder.Lines.Single(line => line.Category == typeof(GatedDoubler).FullName);
        Assert.That(handlerLine.Scope, Does.Contain(new KeyValuePair<string, object?>("TaskId", "job-21")));
        Assert.That(handlerLine.Scope, Does.Contain(new KeyValuePair<string, object?>("Attempt", 1)));

        var failing = await dispatcher.SubmitAsync(_ => throw new InvalidOperationException("boom"), new TaskOptions { Id = "job-fails", Kind = "report" });
        Assert.That(async () => await failing, Throws.InvalidOperationException);
        await host.StopAsync();

        var failed = recorder.Lines.Where(line => line.EventId.Name == "TaskFailed").ToList();
        Assert.That(failed, Has.Count.EqualTo(1), "a failed task is logged once");
        Assert.That(failed[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(failed[0].Message, Is.EqualTo("Task job-fails (report) failed after 3 attempt(s)."));
        Assert.That(failed[0].Exception?.Message, Is.EqualTo("boom"));
        var retries = recorder.Lines.Where(line => line.EventId.Name == "AttemptRetrying").ToList();
        Assert.That(retries, Has.Count.EqualTo(2));
        Assert.That(retries.Select(line => line.Level), Is.All.EqualTo(LogLevel.Information));
        Assert.That(retries.Select(line => line.Exception), Is.All.Null, "the stack is logged once, with the final failure");
        Assert.That(recorder.Lines.Count(line => line.Exception is not null), Is.EqualTo(1));
    }

    private static IHost Host(RecordingLoggerProvider recorder, TimeSpan? hostShutdown = null, Action<ITaskDispatchBuilder>? configure = null)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(recorder);
        builder.Services.AddSingleton<Gate>();
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = hostShutdown ?? TimeSpan.FromSeconds(30));
        var dispatch = builder.Services.AddTaskDispatch(options => options.ShutdownTimeout = TimeSpan.FromSeconds(30)).AddNode("worker", node => node.WithConcurrency(2));
        configure?.Invoke(dispatch);
        builder.Services.AddTaskDispatchHostedService();

        return builder.Build();
    }

    private static async Task<List<TaskHandle<int>>> SubmitHandlerTasksAsync(ITaskDispatcher dispatcher)
    {
        var handles = new List<TaskHandle<int>>();
        for (var i = 0; i < HandlerTasks; i++)
        {
            handles.Add(await dispatcher.SubmitAsync<GatedDoubler, int, int>(i));
        }

        return handles;
    }
}
