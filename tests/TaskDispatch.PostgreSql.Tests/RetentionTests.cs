using TaskDispatch.Tests.Support;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>Ended tasks, and the records of faults, leave the store once <see cref="PostgreSqlClusterOptions.OutcomeRetention"/>
/// has run out; tasks that have not ended stay however old they are.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class RetentionTests : SchemaPerTest
{
    // At least twice the sweep (200 ms) plus the heartbeat (a third of the test kit's 2 s lease).
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Sweep = TimeSpan.FromMilliseconds(200);

    [Test]
    public async Task Ended_tasks_are_pruned_after_the_retention_while_a_running_one_stays_and_a_pruned_id_runs_again()
    {
        await using var member = await ClusterTestKit.Member("prune", Schema, idleSweep: Sweep, configure: options => options.OutcomeRetention = Retention)
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
                $"INSERT INTO {Schema}.refused_acks (cluster, task_id, node, lease_token, state, at) VALUES ('prune', 'old', 'n', 1, 4, now() - interval '1 hour'), ('prune', 'new', 'n', 2, 4, now() + interval '1 hour'); " +
                $"INSERT INTO {Schema}.recoveries (cluster, task_id, from_node, reason, last_renewed_at, recovered_at) VALUES ('prune', 'old', 'n', 'dead', now(), now() - interval '1 hour')");

            await ClusterTestKit.WaitUntilAsync(
                async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks WHERE state = 4") == 0,
                "the ended tasks were pruned");
            await ClusterTestKit.WaitUntilAsync(() => member.PrunedTasks == 50, "the member counted the 50 it pruned");
            Assert.That(await member.FindAsync(ended[0].Id), Is.Null);

            // Submitted with the others, older than the retention, but not ended: it stays.
            var stillRunning = await member.FindAsync(running.Id);
            Assert.That(stillRunning?.State, Is.EqualTo(TaskState.Running));
            await ClusterTestKit.WaitUntilAsync(
                async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.recoveries") == 0,
                "the old fault records were pruned");
            Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT string_agg(task_id, ',') FROM {Schema}.refused_acks"), Is.EqualTo("new"));
        }
        finally
        {
            gate.TrySetResult();
        }

        Assert.That(await running.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("prune-running on worker-1"));
        await ClusterTestKit.WaitUntilAsync(async () => await member.FindAsync(running.Id) is null, "the task that ended last was pruned too");

        // An id is free again once its task is pruned: a submission with it runs anew instead of waiting for the old
        // outcome.
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
        await using var submitter = await ClusterTestKit.Member("gone", Schema, idleSweep: Sweep, configure: options => options.OutcomeRetention = Retention).BuildAsync();
        var gone = await submitter.SubmitAsync<Square, int, long>(7, new TaskOptions { Id = "gone" });
        var kept = await submitter.SubmitAsync<Square, int, long>(8);
        await PostgresServer.ExecuteAsync($"DELETE FROM {Schema}.ready WHERE id = 'gone'; DELETE FROM {Schema}.tasks WHERE id = 'gone'");

        var failure = await Assert.ThrowsAsync<TaskStoreException>(async () => await gone.Completion.WaitAsync(TestTimeouts.Generous));
        Assert.That(failure!.Message, Does.Contain("'gone'").And.Contain("no longer in the store").And.Contain("OutcomeRetention"));
        Assert.That(kept.Completion.IsCompleted, Is.False, "a task still in the store is still awaited");
    }

    [Test]
    public async Task A_retention_shorter_than_two_sweeps_and_heartbeats_or_too_long_is_refused_naming_the_setting()
    {
        // Sweep 1 s and heartbeat 1 s (a third of a 3 s lease): the shortest retention is 4 s.
        TaskClusterBuilder Member(TimeSpan? retention) => ClusterTestKit.Member(
            "x", Schema, lease: TimeSpan.FromSeconds(3), idleSweep: TimeSpan.FromSeconds(1), configure: options => options.OutcomeRetention = retention);

        Assert.That(
            async () => await Member(TimeSpan.FromSeconds(4) - TimeSpan.FromMilliseconds(1)).BuildAsync(),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("OutcomeRetention").And.Message.Contains("IdleSweepInterval"));
        foreach (var wrong in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1), TimeSpan.MaxValue, TimeSpan.FromDays(36_501) })
        {
            Assert.That(async () => await Member(wrong).BuildAsync(), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("OutcomeRetention"), wrong.ToString());
        }

        Assert.That(
            async () => await ClusterTestKit.Member("x", Schema, configure: options => (options.IdleSweepInterval, options.OutcomeRetention) = (TimeSpan.MaxValue, TimeSpan.FromDays(1))).BuildAsync(),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("OutcomeRetention"),
            "a sum past TimeSpan's range is refused, not an overflow");

        await using (await Member(TimeSpan.FromSeconds(4)).BuildAsync())
        {
        }

        await using (await Member(null).BuildAsync())
        {
        }
    }

    [Test]
    public async Task A_handle_whose_row_is_not_written_yet_is_left_waiting_by_the_sweep_and_completes()
    {
        await using var member = await ClusterTestKit.Member("slow-insert", Schema, idleSweep: Sweep, configure: options => options.OutcomeRetention = Retention)
            .AddNode("worker-1")
            .BuildAsync();

        await using var holder = await HoldTaskTableAsync();
        var hold = holder.Transaction;

        var submission = member.SubmitAsync<Square, int, long>(11, new TaskOptions { Id = "slow" }).AsTask();
        try
        {
            // Two timed sweeps: the second reads the id awaited at the first, and finds no row.
            var readBefore = member.IdsReadBack;
            await ClusterTestKit.WaitUntilAsync(() => member.IdsReadBack >= readBefore + 2, "two sweeps looked the unwritten id up");
            Assert.That(submission.IsCompleted, Is.False, "the insert is still held back");
        }
        finally
        {
            await hold.RollbackAsync();
        }

        var handle = await submission.WaitAsync(TestTimeouts.Generous);
        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(121));
    }

    [Test]
    public async Task A_row_committed_while_the_sweep_reads_is_not_taken_for_a_pruned_one()
    {
        // The insert is held back until a sweep has read the id and found no row; then it commits (and its handle is
        // marked stored) before the sweep decides. Only rows committed before the read may be missing because pruned.
        await using var member = await ClusterTestKit.Member("racing", Schema, idleSweep: Sweep, configure: options => options.OutcomeRetention = Retention)
            .AddNode("worker-1")
            .BuildAsync();
        await using var holder = await HoldTaskTableAsync();
        var hold = holder.Transaction;

        Task<ClusterTaskHandle<long>>? submission = null;
        var committedMidSweep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        member.OutcomesReadForTest = async ids =>
        {
            if (ids.Contains("racing") && !committedMidSweep.Task.IsCompleted)
            {
                await hold.RollbackAsync();
                await submission!.WaitAsync(TestTimeouts.Generous);
                committedMidSweep.TrySetResult();
            }
        };
        submission = member.SubmitAsync<Square, int, long>(12, new TaskOptions { Id = "racing" }).AsTask();

        await committedMidSweep.Task.WaitAsync(TestTimeouts.Generous);
        var handle = await submission;
        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(144));
    }

    [Test]
    public async Task A_second_submission_of_an_id_completes_though_the_first_gave_up_waiting_for_its_commit()
    {
        await using var member = await ClusterTestKit.Member("gave-up", Schema).AddNode("worker-1").BuildAsync();
        await using var holder = await HoldTaskTableAsync();
        var hold = holder.Transaction;

        using var giveUp = new CancellationTokenSource();
        var first = member.SubmitAsync<Square, int, long>(5, new TaskOptions { Id = "gave-up" }, giveUp.Token).AsTask();
        var second = member.SubmitAsync<Square, int, long>(6, new TaskOptions { Id = "gave-up" }).AsTask();
        giveUp.Cancel();
        Assert.That(async () => await first, Throws.InstanceOf<OperationCanceledException>());
        await hold.RollbackAsync();

        // The first submission's row is still written (it was handed over): the second waits for that task.
        var handle = await second.WaitAsync(TestTimeouts.Generous);
        Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(25));
    }

    [Test]
    public async Task Two_submissions_of_one_id_by_one_member_both_complete_with_the_one_task()
    {
        await using var worker = await ClusterTestKit.Member("same-id", Schema).AddNode("worker-1", node => node.WithConcurrency(2)).BuildAsync();
        await using var submitter = await ClusterTestKit.Member("same-id", Schema).BuildAsync();

        // Handed to the writer together: the second follows the first, which it must not replace.
        var together = await Task.WhenAll(
            submitter.SubmitAsync<Square, int, long>(3, new TaskOptions { Id = "together" }).AsTask(),
            submitter.SubmitAsync<Square, int, long>(4, new TaskOptions { Id = "together" }).AsTask());
        Assert.That(await together[0].Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(9));
        Assert.That(await together[1].Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(9));

        // One after the other, the first still running.
        var gate = Gated.Gate("same-id-running");
        try
        {
            var first = await submitter.SubmitAsync<Gated, string, string>("same-id-running", new TaskOptions { Id = "running" });
            await Gated.StartedSignal("same-id-running").Task.WaitAsync(TestTimeouts.Generous);
            var second = await submitter.SubmitAsync<Gated, string, string>("ignored", new TaskOptions { Id = "running" });
            gate.TrySetResult();
            Assert.That(await first.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("same-id-running on worker-1"));
            Assert.That(await second.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo("same-id-running on worker-1"));
        }
        finally
        {
            gate.TrySetResult();
        }

        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks"), Is.EqualTo(2));
    }

    /// <summary>Holds the task table (<c>EXCLUSIVE</c>) in a transaction, so that inserts, leases and pruning wait while
    /// reads go through; rolling the transaction back lets them on.</summary>
    private async Task<TableHold> HoldTaskTableAsync()
    {
        var connection = new Npgsql.NpgsqlConnection(PostgresServer.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var lockTasks = new Npgsql.NpgsqlCommand($"LOCK TABLE {Schema}.tasks IN EXCLUSIVE MODE", connection, transaction))
        {
            await lockTasks.ExecuteNonQueryAsync();
        }

        return new TableHold(connection, transaction);
    }

    /// <summary>A transaction holding a table, and its connection.</summary>
    private sealed record TableHold(Npgsql.NpgsqlConnection Connection, Npgsql.NpgsqlTransaction Transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}
