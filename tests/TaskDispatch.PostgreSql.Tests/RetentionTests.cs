using TaskDispatch.Tests.Support;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>Ended tasks, and the records of faults, leave the store once <see cref="PostgreSqlClusterOptions.OutcomeRetention"/>
/// has run out; tasks that have not ended stay however old they are.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class RetentionTests
{
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Sweep = TimeSpan.FromMilliseconds(200);

    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public async Task DropSchema() => await ClusterTestKit.DropAsync(_schema);

    [Test]
    public async Task Ended_tasks_are_pruned_after_the_retention_while_a_running_one_stays_and_a_pruned_id_runs_again()
    {
        await using var member = await ClusterTestKit.Member("prune", _schema, idleSweep: Sweep, configure: options => options.OutcomeRetention = Retention)
            .AddNode("worker-1", node => node.WithConcurrency(4))
            .BuildAsync();

        var running = await member.SubmitAsync<Gated, string, string>("prune-running");
        var gate = Gated.Gate("prune-running");
        try
        {
            await Gated.StartedSignal("prune-running").Task.WaitAsync(TestTimeouts.Generous);
            var ended = await member.SubmitManyAsync<Square, int, long>(Enumerable.Range(1, 50));
            foreach (var handle in ended)
            {
                await handle.Completion.WaitAsync(TestTimeouts.Generous);
            }

            // Faults recorded an hour ago, and one that is not old.
            await PostgresServer.ExecuteAsync(
                $"INSERT INTO {_schema}.refused_acks (cluster, task_id, node, lease_token, state, at) VALUES ('prune', 'old', 'n', 1, 4, now() - interval '1 hour'), ('prune', 'new', 'n', 2, 4, now() + interval '1 hour'); " +
                $"INSERT INTO {_schema}.recoveries (cluster, task_id, from_node, reason, last_renewed_at, recovered_at) VALUES ('prune', 'old', 'n', 'dead', now(), now() - interval '1 hour')");

            await ClusterTestKit.WaitUntilAsync(
                async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks WHERE state = 4") == 0,
                "the ended tasks were pruned");
            Assert.That(member.PrunedTasks, Is.EqualTo(50));
            Assert.That(await member.FindAsync(ended[0].Id), Is.Null);

            // Submitted with the others, older than the retention, but not ended: it stays.
            var stillRunning = await member.FindAsync(running.Id);
            Assert.That(stillRunning?.State, Is.EqualTo(TaskState.Running));
            await ClusterTestKit.WaitUntilAsync(
                async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.recoveries") == 0,
                "the old fault records were pruned");
            Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT string_agg(task_id, ',') FROM {_schema}.refused_acks"), Is.EqualTo("new"));
        }
        finally
        {
            gate.TrySetResult();
        }

        Assert.That(await running.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("prune-running on worker-1"));
        await ClusterTestKit.WaitUntilAsync(async () => await member.FindAsync(running.Id) is null, "the task that ended last was pruned too");

        // Its id is free again: a submission with it runs anew instead of waiting for the old outcome.
        var again = await member.SubmitAsync<Square, int, long>(9, new TaskOptions { Id = "reused" });
        Assert.That(await again.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(81));
        await ClusterTestKit.WaitUntilAsync(async () => await member.FindAsync("reused") is null, "the first 'reused' was pruned");
        var rerun = await member.SubmitAsync<Square, int, long>(10, new TaskOptions { Id = "reused" });
        Assert.That(await rerun.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(100));
    }

    [Test]
    public async Task A_handle_whose_task_left_the_store_before_its_outcome_was_read_fails_instead_of_waiting_for_ever()
    {
        // No member runs a node: the task waits. Its rows are then removed behind the member's back, as the pruner would
        // remove an ended task whose notification was lost; the sweep finds no row and fails the handle, naming why.
        await using var submitter = await ClusterTestKit.Member("gone", _schema, idleSweep: Sweep, configure: options => options.OutcomeRetention = Retention).BuildAsync();
        var gone = await submitter.SubmitAsync<Square, int, long>(7, new TaskOptions { Id = "gone" });
        var kept = await submitter.SubmitAsync<Square, int, long>(8);
        await PostgresServer.ExecuteAsync($"DELETE FROM {_schema}.ready WHERE id = 'gone'; DELETE FROM {_schema}.tasks WHERE id = 'gone'");

        var failure = await Assert.ThrowsAsync<TaskStoreException>(async () => await gone.Completion.WaitAsync(TestTimeouts.Generous));
        Assert.That(failure!.Message, Does.Contain("'gone'").And.Contain("no longer in the store").And.Contain("OutcomeRetention"));
        Assert.That(kept.Completion.IsCompleted, Is.False, "a task still in the store is still awaited");
    }

    [Test]
    public void A_retention_shorter_than_two_sweeps_is_refused_naming_both_settings()
    {
        Assert.That(
            async () => await ClusterTestKit.Member("x", _schema, idleSweep: TimeSpan.FromSeconds(1), configure: options => options.OutcomeRetention = TimeSpan.FromMilliseconds(1_500)).BuildAsync(),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("OutcomeRetention").And.Message.Contains("IdleSweepInterval"));
        Assert.That(
            async () => await ClusterTestKit.Member("x", _schema, configure: options => options.OutcomeRetention = TimeSpan.Zero).BuildAsync(),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("OutcomeRetention"));
    }
}
