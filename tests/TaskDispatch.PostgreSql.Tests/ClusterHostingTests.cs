using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>A cluster member inside the generic host: <c>AddTaskCluster</c> and its health check.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class ClusterHostingTests : SchemaPerTest
{
    [Test]
    public async Task A_member_joins_when_the_host_starts_runs_handlers_from_the_container_and_leaves_when_it_stops()
    {
        using var host = Host("hosted", node: "worker-1");
        Assert.That(() => host.Services.GetRequiredService<TaskCluster>(), Throws.InvalidOperationException.With.Message.Contains("'hosted'").And.Message.Contains("joins when the host starts"));

        await host.StartAsync();
        var cluster = host.Services.GetRequiredService<TaskCluster>();
        Assert.That(host.Services.GetRequiredKeyedService<TaskCluster>("hosted"), Is.SameAs(cluster));
        var handle = await cluster.SubmitAsync<Offset, int, int>(2);
        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(1_002), "the handler got its dependency from the container");

        await host.StopAsync();
        Assert.That(await PostgresServer.ScalarAsync<bool>($"SELECT alive FROM {Schema}.nodes WHERE name = 'worker-1'"), Is.False, "the member left with the host");
    }

    [Test]
    public async Task A_bad_setting_fails_the_hosts_start_naming_it()
    {
        using var host = Host("bad", node: "worker-1", configure: options => options.LeaseDuration = TimeSpan.FromMilliseconds(10));
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync());
        Assert.That(failure!.Message, Does.Contain("'bad'").And.Contain("LeaseDuration"));
        Assert.That(failure.InnerException, Is.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("LeaseDuration"));
    }

    [Test]
    public async Task A_join_that_fails_part_way_marks_the_nodes_it_registered_left_and_closes_its_session()
    {
        await using var holder = await ClusterTestKit.Member("half", Schema).AddNode("taken").BuildAsync();
        var sessions = $"SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'taskdispatch:%'";
        var before = await PostgresServer.ScalarAsync<long>(sessions);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await ClusterTestKit.Member("half", Schema).AddNode("first").AddNode("taken").BuildAsync());
        Assert.That(failure!.Message, Does.Contain("'taken'"));
        Assert.That(await PostgresServer.ScalarAsync<bool>($"SELECT alive FROM {Schema}.nodes WHERE name = 'first'"), Is.False, "no task is placed on the node registered before the failure");
        await ClusterTestKit.WaitUntilAsync(async () => await PostgresServer.ScalarAsync<long>(sessions) == before, "the failed member's listener session closed");
    }

    [Test]
    public async Task The_hosts_shutdown_token_hands_a_running_task_back_at_once_whatever_the_members_shutdown_timeout()
    {
        var gate = "hurried-" + Schema;
        using var host = Host("hurried", node: "worker-1", configure: options => options.ShutdownTimeout = TimeSpan.FromMinutes(10));
        await host.StartAsync();
        var handle = await host.Services.GetRequiredService<TaskCluster>().SubmitAsync<Gated, string, string>(gate);
        Assert.That(await Gated.StartedSignal(gate).Task.WaitAsync(TestTimeouts.Generous), Is.EqualTo("worker-1"));

        // The host allows a second; the member would wait ten minutes for a task that never ends by itself.
        using var hurry = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await host.StopAsync(hurry.Token).WaitAsync(TestTimeouts.Generous);
        Assert.That(Gated.CancelledOn.TryGetValue(gate, out var cutOn) ? cutOn : null, Is.EqualTo("worker-1"), "the running attempt was cut");
        Assert.That(async () => await handle.Completion, Throws.InstanceOf<ObjectDisposedException>(), "the submitter left with the host");
        Assert.That(await PostgresServer.ScalarAsync<bool>($"SELECT alive FROM {Schema}.nodes WHERE name = 'worker-1'"), Is.False, "the member left");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.leases"), Is.Zero, "the task was handed back, not left to its lease");

        // Handed back, not cancelled: another member runs it.
        Gated.Gate(gate).TrySetResult();
        await using var other = await ClusterTestKit.Member("hurried", Schema).AddNode("worker-2").BuildAsync();
        await ClusterTestKit.WaitUntilAsync(async () => (await other.FindAsync(handle.Id))?.State == TaskState.Completed, "another member ran the task handed back");
        var found = await other.FindAsync(handle.Id);
        Assert.That((found!.Node, found.ResultJson), Is.EqualTo(("worker-2", $"\"{gate} on worker-2\"")));
        Assert.That(found.Recoveries, Is.Zero, "no reaper had to take it back from a lease");
    }

    [Test]
    public async Task A_stop_cut_short_still_gives_the_last_writes_a_moment()
    {
        // A lease far longer than the test: an end not written would leave the task leased, not run again here.
        await using var worker = await ClusterTestKit.Member("hurried-writes", Schema, lease: TimeSpan.FromMinutes(2)).AddNode("worker-1").BuildAsync();
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.BeforeAcknowledgement = async _ =>
        {
            // A slow moment of the database, as the stop starts.
            writing.TrySetResult();
            await Task.Delay(TimeSpan.FromMilliseconds(300));
        };
        var handle = await worker.SubmitAsync<Square, int, long>(5);
        await writing.Task.WaitAsync(TestTimeouts.Generous);

        using var hurry = new CancellationTokenSource();
        await hurry.CancelAsync();
        await worker.StopAsync(TimeSpan.FromMinutes(10), hurry.Token).WaitAsync(TestTimeouts.Generous);
        Assert.That(await PostgresServer.ScalarAsync<short>($"SELECT state FROM {Schema}.tasks WHERE id = '{handle.Id}'"), Is.EqualTo((short)TaskState.Completed), "the end that was being written was waited for");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.leases"), Is.Zero);
    }

    [Test]
    public async Task A_stop_under_way_is_hurried_by_a_later_calls_token()
    {
        var gate = "later-token-" + Schema;
        await using var worker = await ClusterTestKit.Member("later-token", Schema, configure: options => options.ShutdownTimeout = TimeSpan.FromMinutes(10))
            .AddNode("worker-1").BuildAsync();
        await worker.SubmitAsync<Gated, string, string>(gate);
        await Gated.StartedSignal(gate).Task.WaitAsync(TestTimeouts.Generous);

        // Started without a token (as DisposeAsync or a user's stop would), it would wait ten minutes for the task.
        var first = worker.StopAsync();
        using var hurry = new CancellationTokenSource();
        await hurry.CancelAsync();
        await worker.StopAsync(timeout: null, hurry.Token).WaitAsync(TestTimeouts.Generous);
        await first.WaitAsync(TestTimeouts.Generous);

        Assert.That(Gated.CancelledOn.TryGetValue(gate, out var cutOn) ? cutOn : null, Is.EqualTo("worker-1"), "the running attempt was cut");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.leases"), Is.Zero, "its lease was handed back");
        Assert.That(await PostgresServer.ScalarAsync<bool>($"SELECT alive FROM {Schema}.nodes WHERE name = 'worker-1'"), Is.False);
        Gated.Gate(gate).TrySetResult();
    }

    [Test]
    public async Task A_negative_or_too_long_shutdown_timeout_is_refused_naming_it()
    {
        var failure = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await ClusterTestKit.Member("negative", Schema, configure: options => options.ShutdownTimeout = TimeSpan.FromSeconds(-1)).BuildAsync());
        Assert.That(failure!.ParamName, Is.EqualTo("ShutdownTimeout"));

        var tooLong = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await ClusterTestKit.Member("negative", Schema, configure: options => options.ShutdownTimeout = TimeSpan.FromDays(60)).BuildAsync());
        Assert.That(tooLong!.ParamName, Is.EqualTo("ShutdownTimeout"));

        await using var member = await ClusterTestKit.Member("negative", Schema).BuildAsync();
        Assert.That(() => member.StopAsync(TimeSpan.FromSeconds(-2)), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("timeout"));
        Assert.That(() => member.StopAsync(TimeSpan.MaxValue), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("timeout"));
    }

    [Test]
    public void One_member_per_cluster_and_process()
    {
        var services = new ServiceCollection().AddTaskCluster("twice", cluster => { });
        Assert.That(() => services.AddTaskCluster("twice", cluster => { }), Throws.ArgumentException.With.Message.Contains("'twice'"));
        Assert.That(() => services.AddTaskCluster(" ", cluster => { }), Throws.ArgumentException);
    }

    [Test]
    public async Task The_health_check_follows_the_members_life()
    {
        using var host = Host("health", node: "worker-1");
        var check = new HealthCheckService(host);
        Assert.That((await check.RunAsync()).Status, Is.EqualTo(HealthStatus.Unhealthy), "before the host starts");

        await host.StartAsync();
        var running = await check.RunAsync();
        Assert.That(running.Status, Is.EqualTo(HealthStatus.Healthy), running.Description);
        Assert.That(running.Data["node:worker-1"], Does.StartWith("live, this member"));

        await host.StopAsync();
        Assert.That((await check.RunAsync()).Status, Is.EqualTo(HealthStatus.Unhealthy), "after the host stopped");
    }

    [Test]
    public async Task A_member_alone_without_nodes_is_degraded_because_tasks_would_wait()
    {
        using var host = Host("no-nodes", node: null);
        await host.StartAsync();
        var result = await new HealthCheckService(host).RunAsync();
        Assert.That(result.Status, Is.EqualTo(HealthStatus.Degraded), result.Description);
        Assert.That(result.Description, Does.Contain("no live node"));
        await host.StopAsync();
    }

    [Test]
    public async Task A_check_of_a_cluster_no_member_was_added_for_fails_alone()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddHealthChecks().AddTaskCluster("misspelt", name: "cluster").AddCheck("other", () => HealthCheckResult.Healthy());
        using var host = builder.Build();
        var report = await host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
        Assert.That(report.Entries["cluster"].Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(report.Entries["cluster"].Description, Does.Contain("AddTaskCluster(\"misspelt\""));
        Assert.That(report.Entries["other"].Status, Is.EqualTo(HealthStatus.Healthy), "the other checks still report");
    }

    [Test]
    public void The_verdict_on_a_running_member_follows_its_own_nodes_and_the_clusters()
    {
        static ClusterNodeInfo Node(string name, string member, bool alive) =>
            new() { Name = name, Member = member, Host = "h", Slots = 4, IsAlive = alive };

        var healthy = TaskClusterHealthCheck.Evaluate("c", "me", ["a"], [Node("a", "me", alive: true), Node("b", "other", alive: false)]);
        Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy), healthy.Description);
        Assert.That(healthy.Data["node:a"], Does.StartWith("live, this member"));
        Assert.That(healthy.Data["node:b"], Does.StartWith("not live,"));

        // Declared dead after a pause: degraded until its heartbeat registers it again.
        var declaredDead = TaskClusterHealthCheck.Evaluate("c", "me", ["a"], [Node("a", "me", alive: false), Node("b", "other", alive: true)]);
        Assert.That(declaredDead.Status, Is.EqualTo(HealthStatus.Degraded), declaredDead.Description);
        Assert.That(declaredDead.Description, Does.Contain("1 of its 1 node(s) are not live"));

        // Its name now held by another member: not this member's node, so degraded too.
        var taken = TaskClusterHealthCheck.Evaluate("c", "me", ["a"], [Node("a", "other", alive: true)]);
        Assert.That(taken.Status, Is.EqualTo(HealthStatus.Degraded), taken.Description);

        // A member without nodes is healthy while some node of the cluster is live, degraded when none is.
        Assert.That(TaskClusterHealthCheck.Evaluate("c", "me", [], [Node("b", "other", alive: true)]).Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(TaskClusterHealthCheck.Evaluate("c", "me", [], [Node("b", "other", alive: false)]).Status, Is.EqualTo(HealthStatus.Degraded));
    }

    private IHost Host(string cluster, string? node, Action<PostgreSqlClusterOptions>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(new OffsetSource(1_000));
        builder.Services.AddTaskCluster(cluster, member =>
        {
            member.UsePostgreSqlStore(PostgresServer.ConnectionString, options =>
            {
                options.Schema = Schema;
                options.LeaseDuration = TimeSpan.FromSeconds(2);
                options.IdleSweepInterval = TimeSpan.FromSeconds(1);
                configure?.Invoke(options);
            }).AddHandler<Offset, int, int>("offset").AddHandler<Gated, string, string>("gated");
            if (node is not null)
            {
                member.AddNode(node);
            }
        });
        builder.Services.AddHealthChecks().AddTaskCluster(cluster, name: "cluster");
        return builder.Build();
    }

    /// <summary>Runs the host's registered cluster check.</summary>
    private sealed class HealthCheckService(IHost host)
    {
        internal async Task<HealthReportEntry> RunAsync()
        {
            var report = await host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
            return report.Entries["cluster"];
        }
    }
}

/// <summary>A dependency from the container.</summary>
internal sealed record OffsetSource(int Offset);

/// <summary>Adds the container's offset to its input.</summary>
internal sealed class Offset(OffsetSource source) : ITaskHandler<int, int>
{
    public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input + source.Offset);
}
