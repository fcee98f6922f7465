using Npgsql;

namespace TaskDispatch.PostgreSql.Tests;

[TestFixture]
[CancelAfter(120_000)]
public sealed class ClusterTests : SchemaPerTest
{
    [Test]
    public async Task A_task_submitted_by_one_member_runs_on_another_and_its_result_reaches_the_submitter()
    {
        await using var worker = await ClusterTestKit.Member("basic", Schema).AddNode("worker-1", node => node.WithConcurrency(2)).BuildAsync();
        await using var submitter = await ClusterTestKit.Member("basic", Schema).BuildAsync();

        var handle = await submitter.SubmitAsync<Square, int, long>(12);
        Assert.That(await handle, Is.EqualTo(144));

        var found = await submitter.FindAsync(handle.Id);
        Assert.That(found, Is.Not.Null);
        Assert.That(found!.State, Is.EqualTo(TaskState.Completed));
        Assert.That(found.Node, Is.EqualTo("worker-1"));
        Assert.That(found.ResultJson, Is.EqualTo("144"));
        Assert.That(found.Deliveries, Is.EqualTo(1));
    }

    [Test]
    public async Task Results_and_errors_of_every_size_reach_the_submitter_through_notifications_alone()
    {
        // The sweep that reads every awaited result is an hour away: only the notifications can end these handles.
        // Small outcomes travel in the notification; large ones travel as an id the submitter reads back.
        var sweep = TimeSpan.FromHours(1);
        await using var worker = await ClusterTestKit.Member("results", Schema, idleSweep: sweep).AddNode("worker-1", node => node.WithConcurrency(4)).BuildAsync();
        await using var submitter = await ClusterTestKit.Member("results", Schema, idleSweep: sweep).BuildAsync();

        // The first three and the ten of 1,000 characters fit in a notification (their entries, id, quotes and error type
        // included, stay under MaxCarriedBytes); the last three do not. Twenty entries of about 1,100 bytes cannot share one
        // payload.
        const int TooLarge = 3;
        string[] inputs =
        [
            string.Empty,
            "quotes \" and \\ backslashes, a tab\t, a newline\n, a control \u0001, and unicode: é 漢字 🚀",
            new string('s', EndedNotice.MaxCarriedBytes - 300),
            .. Enumerable.Range(0, 10).Select(i => $"{i}{new string('c', 1_000)}"),
            new string('m', EndedNotice.MaxCarriedBytes + 1),
            string.Concat(Enumerable.Repeat("é🚀\"", 2_000)),
            new string('l', 200_000),
        ];
        var handles = await submitter.SubmitManyAsync<Echo, string, string>([.. inputs, .. inputs.Select(input => "fail:" + input)]);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.That(await handles[i], Is.EqualTo(inputs[i]), $"result {i} ({inputs[i].Length} chars)");
            var error = await Assert.ThrowsAsync<RecordedTaskException>(async () => await handles[inputs.Length + i]);
            Assert.That(error!.Message, Does.Contain(inputs[i]), $"error {i} ({inputs[i].Length} chars)");
            Assert.That(error.ErrorType, Is.EqualTo(typeof(InvalidOperationException).FullName));
        }

        // Only the outcomes too large to travel were read back: the others came in the notifications themselves.
        Assert.That(submitter.OutcomesReadBack, Is.EqualTo(2 * TooLarge));
    }

    [Test]
    public async Task A_task_that_ended_without_a_notification_completes_its_handle_through_the_sweep_alone()
    {
        // No member runs a node, so nothing leases the task; it is ended behind the cluster's back, as a lost notification
        // would leave it. Only the sweep of ids awaited for a whole interval can complete the handle.
        await using var submitter = await ClusterTestKit.Member("lost", Schema, idleSweep: TimeSpan.FromMilliseconds(200)).BuildAsync();
        var lost = await submitter.SubmitAsync<Square, int, long>(7);
        var waiting = await submitter.SubmitAsync<Square, int, long>(8);
        await PostgresServer.ExecuteAsync($"UPDATE {Schema}.tasks SET state = 4, result = '49', ended_at = now() WHERE id = '{lost.Id}'");

        Assert.That(await lost.Completion.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(49));
        Assert.That(submitter.OutcomesReadBack, Is.EqualTo(1), "only the ended task was read back");
        Assert.That(waiting.Completion.IsCompleted, Is.False, "the task that did not end is still awaited");
    }

    [Test]
    public void An_ended_tasks_notification_carries_outcomes_or_ids_and_a_malformed_one_is_refused()
    {
        var outcomes = EndedNotice.Parse("""[["a",4,"\"r\\\"",null,null],["b"],["c",5,null,"boom","System.Exception"],["d",6,null,"Cancelled by id.",null]]""");
        Assert.That(outcomes, Is.EqualTo(new[]
        {
            new EndedOutcome("a", TaskState.Completed, "\"r\\\"", null, null),
            new EndedOutcome("b", null, null, null, null),
            new EndedOutcome("c", TaskState.Failed, null, "boom", "System.Exception"),
            new EndedOutcome("d", TaskState.Cancelled, null, "Cancelled by id.", null),
        }));

        Assert.That(EndedNotice.Parse("""[["id \"quoted\" é"]]"""), Is.EqualTo(new[] { new EndedOutcome("id \"quoted\" é", null, null, null, null) }));

        // A payload closes past PayloadBytes, so it holds at most that, one more entry and the member id: under 8,000.
        Assert.That(EndedNotice.PayloadBytes + EndedNotice.MaxCarriedBytes + 2 + 100, Is.LessThan(8_000));

        foreach (var malformed in new[] { "", "[", "[[\"a\",", "[[\"a\",\"4\"]]", "[[\"a\",4,null,null]]", "[\"a\"]", "{}" })
        {
            Assert.That(() => EndedNotice.Parse(malformed), Throws.InstanceOf<System.Text.Json.JsonException>(), malformed);
        }
    }

    [Test]
    public void Ended_entries_written_one_after_another_each_read_back_as_written()
    {
        // The writer and its buffer are reused from one entry to the next: a long entry must leave nothing in a short one.
        EndedOutcome[] outcomes =
        [
            new("long", TaskState.Completed, new string('x', EndedNotice.MaxCarriedBytes - 100), null, null),
            new("short", TaskState.Completed, "1", null, null),
            new("too-large", null, null, null, null),
            new("failed", TaskState.Failed, null, "boom \"quoted\" é", "System.InvalidOperationException"),
            new("empty", TaskState.Completed, "", null, null),
        ];
        var entries = outcomes.Select(outcome => outcome.State is { } state
            ? EndedNotice.Entry(outcome.Id, state, outcome.Result, outcome.Error, outcome.ErrorType)
            : EndedNotice.Entry(outcome.Id, TaskState.Completed, new string('y', EndedNotice.MaxCarriedBytes + 1), null, null)).ToArray();

        Assert.That(EndedNotice.Parse("[" + string.Join(", ", entries) + "]"), Is.EqualTo(outcomes));

        // On many threads at once, each entry is its own.
        var wrong = 0;
        Parallel.For(0, 4_000, i =>
        {
            var entry = EndedNotice.Entry($"task-{i}", TaskState.Completed, new string('r', i % 50), null, null);
            if (EndedNotice.Parse($"[{entry}]")[0] != new EndedOutcome($"task-{i}", TaskState.Completed, new string('r', i % 50), null, null))
            {
                Interlocked.Increment(ref wrong);
            }
        });
        Assert.That(wrong, Is.Zero);
    }

    [Test]
    public async Task A_waiting_task_cancelled_by_id_from_another_member_ends_cancelled_and_its_handle_hears_it()
    {
        await using var submitter = await ClusterTestKit.Member("cancel", Schema).BuildAsync();
        await using var other = await ClusterTestKit.Member("cancel", Schema).BuildAsync();

        // No node anywhere: the task waits unplaced until cancelled.
        var handle = await submitter.SubmitAsync<Square, int, long>(3, new TaskOptions { Id = "job-42" });
        Assert.That(await other.CancelAsync("job-42"), Is.True);
        Assert.That(async () => await handle, Throws.InstanceOf<OperationCanceledException>());
        Assert.That((await other.FindAsync("job-42"))!.State, Is.EqualTo(TaskState.Cancelled));
        Assert.That(await other.CancelAsync("job-42"), Is.False, "an ended task is not cancelled again");
        Assert.That(await other.FindAsync("no-such-task"), Is.Null);
    }

    [Test]
    public async Task A_second_submission_with_the_same_id_waits_for_the_first_task_instead_of_running_again()
    {
        await using var worker = await ClusterTestKit.Member("idempotent", Schema).AddNode("worker-1").BuildAsync();
        await using var submitter = await ClusterTestKit.Member("idempotent", Schema).BuildAsync();

        var first = await submitter.SubmitAsync<Square, int, long>(5, new TaskOptions { Id = "order-7" });
        var second = await worker.SubmitAsync<Square, int, long>(6, new TaskOptions { Id = "order-7" });
        Assert.That(await first, Is.EqualTo(25));
        Assert.That(await second, Is.EqualTo(25), "the second submission got the first task's outcome");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_made_up_id_that_a_caller_took_already_waits_for_that_task_like_a_given_one()
    {
        await using var worker = await ClusterTestKit.Member("made-up", Schema).AddNode("worker-1").BuildAsync();
        await using var submitter = await ClusterTestKit.Member("made-up", Schema).BuildAsync();
        var first = await submitter.SubmitAsync<Square, int, long>(5, new TaskOptions { Id = "taken" });
        Assert.That(await first, Is.EqualTo(25));

        // Ids this member makes up go in without ON CONFLICT; one that is taken fails that statement, and the batch is
        // written again the way given ids are: the taken row is skipped, the other task goes in.
        var madeUp = new Queue<string>(["taken", "fresh"]);
        submitter.NewTaskId = _ => madeUp.Dequeue();
        var handles = await submitter.SubmitManyAsync<Square, int, long>([6, 7]);
        Assert.That(handles.Select(handle => handle.Id), Is.EqualTo(new[] { "taken", "fresh" }));
        Assert.That(await handles[0], Is.EqualTo(25), "the submission got the first task's outcome");
        Assert.That(await handles[1], Is.EqualTo(49));
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_submission_that_fails_part_way_leaves_the_batches_handed_to_the_writer_to_be_written_and_run()
    {
        await using var worker = await ClusterTestKit.Member("part-way", Schema).AddNode("worker-1", node => node.WithConcurrency(4)).BuildAsync();
        await using var submitter = await new TaskClusterBuilder("part-way")
            .UsePostgreSqlStore(PostgresServer.ConnectionString, options =>
            {
                options.Schema = Schema;
                options.WriteBatchSize = 2;
            })
            .AddHandler<Square, int, long>("square")
            .BuildAsync();

        // Batches of two: the first is written while the second is prepared, the second is handed to the writer, and the
        // fifth task cannot be prepared. The call fails; the two batches already handed over are written and run.
        var made = 0;
        submitter.NewTaskId = _ => ++made <= 4 ? $"part-{made}" : throw new InvalidOperationException("no id for the fifth task");
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await submitter.SubmitManyAsync<Square, int, long>([1, 2, 3, 4, 5]));
        Assert.That(failure!.Message, Does.Contain("fifth"));

        await ClusterTestKit.WaitUntilAsync(
            () => PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks WHERE state = 4").GetAwaiter().GetResult() == 4,
            "the four tasks handed to the writer completed");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks"), Is.EqualTo(4), "nothing of the task that failed to prepare");
        Assert.That((await submitter.FindAsync("part-4"))!.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task A_lease_whose_reply_was_lost_after_its_commit_is_handed_back_before_the_node_leases_again()
    {
        // A lease far longer than the wait below: the task must not wait for the reaper.
        await using var worker = await ClusterTestKit.Member("in-doubt", Schema, lease: TimeSpan.FromMinutes(2)).AddNode("worker-1").BuildAsync();
        var lose = 1;
        worker.LoseLeaseReply = () => Interlocked.Exchange(ref lose, 0) == 1;

        var handle = await worker.SubmitAsync<Square, int, long>(12);
        Assert.That(await handle.Completion.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(144));
        Assert.That(lose, Is.Zero, "the first lease's reply was lost");
        var found = await worker.FindAsync(handle.Id);
        Assert.That(found!.Deliveries, Is.EqualTo(1), "the lease handed back was no delivery");
        Assert.That(found.Recoveries, Is.Zero, "the reaper took nothing back");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.leases"), Is.Zero);
    }

    [Test]
    public async Task An_end_held_back_by_slow_writes_keeps_its_lease_and_is_accepted()
    {
        // The database takes the end late, three leases after the task ran (a backlog of acknowledgements, a slow server).
        // The lease is renewed meanwhile, so the reaper leaves the task alone and its one delivery is the one that counts.
        var lease = TimeSpan.FromSeconds(3);
        await using var worker = await ClusterTestKit.Member("slow-ends", Schema, lease: lease).AddNode("worker-1").BuildAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.BeforeAcknowledgement = _ => release.Task;

        var handle = await worker.SubmitAsync<Square, int, long>(9);
        await ClusterTestKit.WaitUntilAsync(
            async () => await PostgresServer.ScalarAsync<bool>(
                $"SELECT coalesce(bool_and(started_at < now() - interval '9 seconds'), false) FROM {Schema}.tasks WHERE id = '{handle.Id}'"),
            "three leases have passed since the task first started");
        release.SetResult();

        Assert.That(await handle.Completion.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(81));
        var found = await worker.FindAsync(handle.Id);
        Assert.That((found!.Deliveries, found.Recoveries), Is.EqualTo((1, 0)), "the lease was renewed while the end waited");
        Assert.That(worker.RefusedWrites, Is.Zero);
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.refused_acks"), Is.Zero);
    }

    [Test]
    public async Task A_member_stops_leasing_while_its_ends_wait_to_be_written()
    {
        // Ends the database does not take pile up; a member that kept leasing would start tasks whose ends only join the
        // queue, until they come too late. It stops at two acknowledgements' worth (8 here) and resumes once they drain.
        const int Tasks = 60;
        await using var worker = await ClusterTestKit.Member("ends-behind", Schema, lease: TimeSpan.FromMinutes(2), configure: options =>
            {
                options.WriteBatchSize = 4;
                options.Prefetch = 0;
            })
            .AddNode("worker-1", node => node.WithConcurrency(4)).BuildAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.BeforeAcknowledgement = _ => release.Task;

        var handles = await worker.SubmitManyAsync<Square, int, long>(Enumerable.Range(1, Tasks));
        var leased = $"SELECT count(*) FROM {Schema}.tasks WHERE state = {ClusterSchema.Leased}";
        await ClusterTestKit.WaitUntilAsync(async () => await PostgresServer.ScalarAsync<long>(leased) >= 8, "the held-back ends reached the limit");

        // Leasing stops once 8 ends are unwritten (the batch being written counts); the node's last lease may have taken
        // up to its 4 slots just before: at most 12 of the 60, and 16 leaves room for a lease and a check that cross.
        var most = 0L;
        for (var look = 0; look < 20; look++)
        {
            most = Math.Max(most, await PostgresServer.ScalarAsync<long>(leased));
            await Task.Delay(50);
        }

        Assert.That(most, Is.InRange(8, 16), "leasing stopped while the ends waited");
        release.SetResult();
        foreach (var handle in handles)
        {
            await handle.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks WHERE state = {ClusterSchema.Completed} AND attempts = 1"), Is.EqualTo(Tasks));
    }

    [Test]
    public async Task An_error_text_with_a_nul_is_stored_with_a_replacement_character()
    {
        await using var worker = await ClusterTestKit.Member("nul-error", Schema).AddNode("worker-1").BuildAsync();

        var handle = await worker.SubmitAsync<Echo, string, string>("fail:before\0after");
        var error = await Assert.ThrowsAsync<RecordedTaskException>(async () => await handle.Completion.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.That(error!.Message, Is.EqualTo("before\uFFFDafter"));
        var found = await worker.FindAsync(handle.Id);
        Assert.That((found!.State, found.Deliveries, found.Error), Is.EqualTo((TaskState.Failed, 1, "before\uFFFDafter")));
    }

    [Test]
    public async Task An_end_that_cannot_be_sent_is_given_up_alone_and_the_member_keeps_writing()
    {
        // An end whose statement fails every time, and not for want of a server (here the test makes it so; in the field,
        // text the server refuses): the batch is split until that end is alone, the others are written, that one is given
        // up (its lease runs out and the task is dead-lettered after its deliveries), and nothing is left holding a lease
        // or the lease loop back.
        const string Unsendable = "unsendable-end";
        await using var worker = await ClusterTestKit.Member("unsendable", Schema, configure: options => options.MaxDeliveries = 2)
            .AddNode("worker-1", node => node.WithConcurrency(8)).BuildAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var splits = 0;
        worker.BeforeAcknowledgement = async ids =>
        {
            await release.Task;
            if (ids.Contains(Unsendable))
            {
                if (ids.Count > 1)
                {
                    Interlocked.Increment(ref splits);
                }

                throw new InvalidOperationException("This end cannot be sent (a test's fault).");
            }
        };

        // The first end is held in its statement; the six after it queue behind it, so that they make one batch.
        var leased = $"SELECT count(*) FROM {Schema}.tasks WHERE state = {ClusterSchema.Leased}";
        var first = await worker.SubmitAsync<Echo, string, string>("first");
        await ClusterTestKit.WaitUntilAsync(async () => await PostgresServer.ScalarAsync<long>(leased) == 1, "the first task is leased");
        var unsendable = await worker.SubmitAsync<Echo, string, string>("zero", new TaskOptions { Id = Unsendable });
        string[] inputs = ["one", "two", "three", "four", "five"];
        var others = await worker.SubmitManyAsync<Echo, string, string>(inputs);
        await ClusterTestKit.WaitUntilAsync(async () => await PostgresServer.ScalarAsync<long>(leased) == 7, "all seven tasks ran and wait for their ends");
        release.SetResult();

        Assert.That(await first.Completion.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo("first"));
        foreach (var (handle, input) in others.Zip(inputs))
        {
            Assert.That(await handle.Completion.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(input));
        }

        Assert.That(splits, Is.GreaterThanOrEqualTo(1), "the batch holding the unsendable end was split");
        var error = await Assert.ThrowsAsync<RecordedTaskException>(async () => await unsendable.Completion.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.That(error!.ErrorType, Is.EqualTo(typeof(NodeFailureException).FullName), "dead-lettered after its ends were given up");
        var found = await worker.FindAsync(Unsendable);
        Assert.That((found!.DeadLettered, found.Deliveries), Is.EqualTo((true, 2)));

        Assert.That(await (await worker.SubmitAsync<Echo, string, string>("after")).Completion.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo("after"));

        // The count drops once the acknowledgement's statement has returned, which can be after its notification arrived.
        await ClusterTestKit.WaitUntilAsync(() => Task.FromResult(worker.EndsUnwritten == 0), "no end is left unwritten");
    }

    [Test]
    public async Task Handing_back_a_lease_in_doubt_leaves_the_nodes_running_leases_alone()
    {
        var gate = "running-" + Schema;
        await using var worker = await ClusterTestKit.Member("in-doubt-running", Schema, lease: TimeSpan.FromMinutes(2))
            .AddNode("worker-1", node => node.WithConcurrency(2)).BuildAsync();
        var running = await worker.SubmitAsync<Gated, string, string>(gate);
        await Gated.StartedSignal(gate).Task.WaitAsync(TimeSpan.FromMinutes(1));

        // The next lease of the same node loses its reply; handing it back must not touch the lease still running.
        var lose = 1;
        worker.LoseLeaseReply = () => Interlocked.Exchange(ref lose, 0) == 1;
        var next = await worker.SubmitAsync<Square, int, long>(7);
        Assert.That(await next.Completion.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(49));
        Assert.That(lose, Is.Zero, "the second lease's reply was lost");

        Gated.Gate(gate).TrySetResult();
        Assert.That(await running, Is.EqualTo($"{gate} on worker-1"));
        var found = await worker.FindAsync(running.Id);
        Assert.That((found!.Deliveries, found.Recoveries), Is.EqualTo((1, 0)), "the running task kept its one lease");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.refused_acks"), Is.Zero, "no end was refused");
        Assert.That(worker.RefusedWrites, Is.Zero);
    }

    [Test]
    public async Task A_failing_handler_ends_failed_with_its_error_recorded_for_any_member()
    {
        await using var worker = await ClusterTestKit.Member("failing", Schema)
            .UseRecovery(RecoveryPolicy.Retry(retry => retry.MaxRetryAttempts = 0))
            .AddNode("worker-1").BuildAsync();

        var handle = await worker.SubmitAsync<Square, int, long>(-1);
        var error = await Assert.ThrowsAsync<RecordedTaskException>(async () => await handle);
        Assert.That(error!.Message, Does.Contain("negative input"));
        var found = await worker.FindAsync(handle.Id);
        Assert.That(found!.State, Is.EqualTo(TaskState.Failed));
        Assert.That(found.ErrorType, Is.EqualTo(typeof(ArgumentOutOfRangeException).FullName));
    }

    [Test]
    public async Task The_whole_cluster_is_visible_from_a_member_without_nodes()
    {
        await using var a = await ClusterTestKit.Member("view", Schema).AddNode("a", node => node.WithConcurrency(3).WithWeight(2).WithTags("ssd").WithResource("gpu", 1)).BuildAsync();
        await using var b = await ClusterTestKit.Member("view", Schema).AddNode("b").BuildAsync();
        await using var observer = await ClusterTestKit.Member("view", Schema).BuildAsync();

        var nodes = await observer.GetNodesAsync();
        Assert.That(nodes.Select(node => node.Name), Is.EqualTo(new[] { "a", "b" }));
        var nodeA = nodes[0];
        Assert.Multiple(() =>
        {
            Assert.That(nodeA.IsAlive, Is.True);
            Assert.That(nodeA.Slots, Is.EqualTo(3));
            Assert.That(nodeA.Weight, Is.EqualTo(2));
            Assert.That(nodeA.Tags, Is.EqualTo(new[] { "ssd" }));
            Assert.That(nodeA.Resources["gpu"], Is.EqualTo(1));
            Assert.That(nodeA.Member, Is.EqualTo(a.MemberId));
        });
    }

    [Test]
    public async Task A_node_name_taken_by_a_live_member_is_refused()
    {
        await using var first = await ClusterTestKit.Member("names", Schema).AddNode("same").BuildAsync();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await ClusterTestKit.Member("names", Schema).AddNode("same").BuildAsync());
        Assert.That(error!.Message, Does.Contain("'same'"));
    }

    [Test]
    public async Task A_schema_newer_than_this_build_is_refused_with_a_clear_error()
    {
        await using (await ClusterTestKit.Member("versions", Schema).BuildAsync())
        {
        }

        await PostgresServer.ExecuteAsync($"UPDATE {Schema}.meta SET value = '99' WHERE key = 'schema_version'");
        var error = await Assert.ThrowsAsync<TaskStoreException>(async () => await ClusterTestKit.Member("versions", Schema).BuildAsync());
        Assert.That(error!.Message, Does.Contain("version 99"));
    }

    [Test]
    public async Task A_task_whose_id_is_too_long_to_notify_completes_through_the_sweep_and_stalls_no_other_end()
    {
        // Even an id-only entry must keep a payload under the server's 8,000 bytes. Ids longer than an entry may be
        // (2,000 characters; 1,400 Cyrillic ones, escaped to six bytes each) go in no notification, and their
        // submitters read them back. Before, the second made pg_notify fail, the acknowledgement was retried forever,
        // and no end of that member was written again.
        await using var worker = await ClusterTestKit.Member("long-ids", Schema, idleSweep: TimeSpan.FromMilliseconds(200)).AddNode("worker-1").BuildAsync();
        var longIds = new[] { new string('x', 2_000), new string('я', 1_400) };
        var handles = new List<ClusterTaskHandle<long>>();
        for (var i = 0; i < longIds.Length; i++)
        {
            handles.Add(await worker.SubmitAsync<Square, int, long>(i + 3, new TaskOptions { Id = longIds[i] }));
        }

        var ordinary = await worker.SubmitAsync<Square, int, long>(5);
        Assert.That(await ordinary.Completion.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(25));
        Assert.That(await handles[0].Completion.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(9));
        Assert.That(await handles[1].Completion.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(16));
        Assert.That(worker.OutcomesReadBack, Is.GreaterThanOrEqualTo(2), "the two long ids were read back, not notified");
    }

    [Test]
    public async Task Renewals_racing_lease_commits_never_cancel_a_task()
    {
        // A lease's rows reach the member before its commit does. A renewal in that window, on another session, cannot see
        // the lease; were its absence taken for a loss, the attempt (waiting in the local queue, among the prefetched)
        // would be cancelled, and its end, under a valid token, would end the task cancelled. Renewing every 10 ms while
        // batches of 16 are leased over and over keeps renewals and lease commits crossing.
        await using var worker = await new TaskClusterBuilder("renewals")
            .UsePostgreSqlStore(PostgresServer.ConnectionString, options =>
            {
                options.Schema = Schema;
                options.LeaseDuration = TimeSpan.FromSeconds(2);
                options.HeartbeatInterval = TimeSpan.FromMilliseconds(10);
                options.LeaseBatchSize = 16;
                options.Prefetch = 200;
            })
            .AddHandler<Square, int, long>("square")
            .AddNode("worker-1", node => node.WithConcurrency(1))
            .BuildAsync();

        const int Total = 3_000;
        var handles = await worker.SubmitManyAsync<Square, int, long>(Enumerable.Range(0, Total));
        var ended = await Task.WhenAll(handles.Select(async (handle, i) =>
        {
            try
            {
                return await handle == (long)i * i ? "completed" : "wrong result";
            }
            catch (OperationCanceledException)
            {
                return "cancelled";
            }
        }));

        Assert.That(ended.Count(end => end == "completed"), Is.EqualTo(Total), string.Join(", ", ended.GroupBy(end => end).Select(group => $"{group.Key} {group.Count()}")));
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks WHERE state = 4"), Is.EqualTo(Total));
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.ready"), Is.Zero);
    }

    /// <summary>Creates this test's schema at an older <paramref name="version"/>, for a member of this build to migrate.</summary>
    private async Task BuildOlderSchemaAsync(int version)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        await ClusterSchema.MigrateAsync(dataSource, Schema, targetVersion: version, CancellationToken.None);
    }

    [Test]
    public async Task A_migration_chosen_as_a_deadlocks_victim_is_run_again()
    {
        // A running member's statement holds tasks and then wants ready, while the migration holds ready and waits for
        // tasks: the migration, the first to wait, finds the deadlock after deadlock_timeout (1 s) and is its victim.
        await BuildOlderSchemaAsync(version: 2);
        await using var member = new Npgsql.NpgsqlConnection(PostgresServer.ConnectionString);
        await member.OpenAsync();
        await using var statement = await member.BeginTransactionAsync();
        await using (var holdTasks = new Npgsql.NpgsqlCommand($"LOCK TABLE {Schema}.tasks IN ROW EXCLUSIVE MODE", member, statement))
        {
            await holdTasks.ExecuteNonQueryAsync();
        }

        await using var dataSource = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        var migration = ClusterSchema.MigrateAsync(dataSource, Schema, CancellationToken.None);
        await ClusterTestKit.WaitUntilAsync(
            async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM pg_locks WHERE relation = '{Schema}.tasks'::regclass AND NOT granted") == 1,
            "the migration waits for the task table");

        // Granted once the migration has rolled back as the victim.
        await using (var wantReady = new Npgsql.NpgsqlCommand($"LOCK TABLE {Schema}.ready IN ROW EXCLUSIVE MODE", member, statement))
        {
            await wantReady.ExecuteNonQueryAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await statement.CommitAsync();
        await migration.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT value FROM {Schema}.meta WHERE key = 'schema_version'"), Is.EqualTo(ClusterSchema.CurrentVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task A_version_2_schema_is_migrated_to_keys_that_compare_bytewise_and_its_waiting_task_runs()
    {
        // Version 3 gives the key columns the C collation, so that key lookups never call a linguistic collation.
        await BuildOlderSchemaAsync(version: 2);

        await PostgresServer.ExecuteAsync(
            $"INSERT INTO {Schema}.tasks (cluster, id, handler, input, options, sort_key, state, node, submitted_at, ready_at) " +
            $"VALUES ('upgrade', 'waiting', 'square', '6', '{{}}', 0, 0, 'worker-1', now(), now()); " +
            $"INSERT INTO {Schema}.ready (cluster, node, sort_key, seq, ready_at, id) " +
            $"SELECT cluster, node, sort_key, seq, ready_at, id FROM {Schema}.tasks WHERE id = 'waiting'");

        await using var worker = await ClusterTestKit.Member("upgrade", Schema).AddNode("worker-1").BuildAsync();

        Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT value FROM {Schema}.meta WHERE key = 'schema_version'"), Is.EqualTo(ClusterSchema.CurrentVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var keys = await PostgresServer.ScalarAsync<string>(
            $"SELECT string_agg(table_name || '.' || column_name || '=' || coalesce(collation_name, 'default'), ', ' ORDER BY table_name, column_name) " +
            $"FROM information_schema.columns WHERE table_schema = '{Schema}' AND (table_name, column_name) IN " +
            "(('tasks', 'cluster'), ('tasks', 'id'), ('tasks', 'node'), ('ready', 'cluster'), ('ready', 'node'), ('ready', 'id'), " +
            "('leases', 'cluster'), ('leases', 'node'), ('nodes', 'cluster'), ('nodes', 'name'), ('fair_keys', 'cluster'), ('fair_keys', 'key'))");
        Assert.That(keys!.Split(", "), Has.Length.EqualTo(12).And.All.EndsWith("=C"), keys);
        Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT to_regclass('{Schema}.tasks_submitted')::text"), Is.Not.Null, "version 4 indexes the submission time");
        await ClusterTestKit.WaitUntilAsync(async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks WHERE state = 4") == 1, "the waiting task completed");
        Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT result FROM {Schema}.tasks WHERE id = 'waiting'"), Is.EqualTo("36"));
    }

    [Test]
    public async Task A_version_1_schema_is_migrated_with_its_waiting_and_leased_tasks_and_both_run()
    {
        // Version 1 kept the queue and the leases in the task table; version 2 moves them out. A task waiting and a task
        // leased by a member that has since died must both still run after the upgrade.
        await BuildOlderSchemaAsync(version: 1);

        await PostgresServer.ExecuteAsync(
            $"INSERT INTO {Schema}.nodes (cluster, name, member, host, pid, slots, weight, tags, resources, joined_at, heartbeat_at, alive) " +
            $"VALUES ('upgrade', 'old-node', 'gone', 'h', 1, 1, 1, '{{}}', '{{}}', now() - interval '1 hour', now() - interval '1 hour', false); " +
            $"INSERT INTO {Schema}.tasks (cluster, id, handler, input, options, sort_key, state, node, submitted_at, ready_at) " +
            $"VALUES ('upgrade', 'waiting', 'square', '6', '{{}}', 0, 0, 'worker-1', now(), now()); " +
            $"INSERT INTO {Schema}.tasks (cluster, id, handler, input, options, sort_key, state, node, submitted_at, ready_at, lease_token, lease_expires, leased_by, attempts) " +
            $"VALUES ('upgrade', 'leased', 'square', '7', '{{}}', 0, 2, 'old-node', now(), now(), nextval('{Schema}.lease_seq'), now() - interval '1 minute', 'gone', 1)");

        // A version 1 member still running (a node heartbeating) holds the migration back, named.
        await PostgresServer.ExecuteAsync(
            $"INSERT INTO {Schema}.nodes (cluster, name, member, host, pid, slots, weight, tags, resources, joined_at, heartbeat_at, alive) " +
            $"VALUES ('upgrade', 'running-node', 'still-running', 'h', 2, 1, 1, '{{}}', '{{}}', now(), now(), true)");
        var refused = await Assert.ThrowsAsync<TaskStoreException>(async () => await ClusterTestKit.Member("upgrade", Schema).AddNode("worker-1").BuildAsync());
        Assert.That(refused!.Message, Does.Contain("still-running"));
        await PostgresServer.ExecuteAsync($"UPDATE {Schema}.nodes SET alive = false WHERE name = 'running-node'");

        await using var worker = await ClusterTestKit.Member("upgrade", Schema).AddNode("worker-1").BuildAsync();
        Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT value FROM {Schema}.meta WHERE key = 'schema_version'"), Is.EqualTo(ClusterSchema.CurrentVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await ClusterTestKit.WaitUntilAsync(async () => await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.tasks WHERE state = 4") == 2, "both tasks completed");
        Assert.That(await PostgresServer.ScalarAsync<string>($"SELECT string_agg(id || '=' || result, ',' ORDER BY id) FROM {Schema}.tasks"), Is.EqualTo("leased=49,waiting=36"));
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.ready"), Is.Zero, "the queue is empty once both ran");
    }

    [Test]
    public void Bad_settings_and_submissions_fail_at_the_call_site_naming_what_is_wrong()
    {
        Assert.That(() => new TaskClusterBuilder(" "), Throws.ArgumentException);
        Assert.That(async () => await new TaskClusterBuilder("x").BuildAsync(), Throws.InvalidOperationException.With.Message.Contains("UsePostgreSqlStore"));
        Assert.That(async () => await ClusterTestKit.Member("x", Schema, TimeSpan.FromMilliseconds(10)).BuildAsync(),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("LeaseDuration"));
        Assert.That(async () => await new TaskClusterBuilder("x").UsePostgreSqlStore(PostgresServer.ConnectionString, options => options.Schema = "Bad-Name").BuildAsync(),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("Schema"));
        Assert.That(async () => await ClusterTestKit.Member("x", Schema).UsePostgreSqlStore(PostgresServer.ConnectionString, options => options.QueueRescanInterval = TimeSpan.FromMilliseconds(-1)).BuildAsync(),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("QueueRescanInterval"));
        Assert.That(() => ClusterTestKit.Member("x", Schema).AddNode("n").AddNode("n"), Throws.ArgumentException.With.Message.Contains("'n'"));
    }

    [Test]
    public async Task Submissions_that_cannot_be_honoured_across_processes_are_refused()
    {
        await using var member = await ClusterTestKit.Member("refusals", Schema).BuildAsync();
        using var source = new CancellationTokenSource();
        Assert.That(async () => await member.SubmitAsync<Square, int, long>(1, new TaskOptions { CancellationToken = source.Token }),
            Throws.ArgumentException.With.Message.Contains("CancelAsync"));
        Assert.That(async () => await member.SubmitAsync<Unregistered, int, int>(1), Throws.InvalidOperationException.With.Message.Contains("AddHandler"));
    }

    private sealed class Unregistered : ITaskHandler<int, int>
    {
        public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input);
    }

    [Test]
    [NonParallelizable]
    public async Task The_table_is_leased_in_the_priority_policys_order()
    {
        Recorded.Starts.Clear();
        await using var submitter = await ClusterTestKit.Member("priority", Schema).UseScheduling(SchedulingPolicy.Priority()).BuildAsync();
        var priorities = new[] { 1, 5, 3, 9, 2 };
        var handles = new List<ClusterTaskHandle<int>>();
        foreach (var priority in priorities)
        {
            // No node yet: every task waits in the table, unplaced.
            handles.Add(await submitter.SubmitAsync<Recorded, int, int>(priority, new TaskOptions { Priority = priority }));
        }

        // One slot, nothing prefetched, one task per lease: the node takes the table's order one task at a time.
        await using var worker = await new TaskClusterBuilder("priority")
            .UsePostgreSqlStore(PostgresServer.ConnectionString, options =>
            {
                options.Schema = Schema;
                options.LeaseDuration = TimeSpan.FromSeconds(2);
                options.Prefetch = 0;
                options.LeaseBatchSize = 1;
            })
            .UseScheduling(SchedulingPolicy.Priority())
            .AddHandler<Recorded, int, int>("recorded")
            .AddNode("only", node => node.WithConcurrency(1))
            .BuildAsync();
        foreach (var handle in handles)
        {
            await handle;
        }

        Assert.That(Recorded.Starts, Is.EqualTo(new[] { 9, 5, 3, 2, 1 }));
    }

    [Test]
    public async Task A_work_notification_names_a_node_and_where_its_new_tasks_start_and_any_other_payload_is_ignored()
    {
        var nodes = new HashSet<string> { "node-1", "odd\nname\n7" };
        bool Read(string payload, out string? node, out QueuePosition position) => WorkNotice.TryRead(payload, name => nodes.Contains(name) ? name : null, out node, out position);

        // Payloads as the submission's statement writes them: the sort key travels as its bits and reads back exactly (as
        // text it would depend on the session's extra_float_digits, and 15 digits round 1/3 or double.MinValue).
        foreach (var sortKey in new[] { -9d, 1d / 3, 1e-7, double.MinValue, double.MaxValue, 0d })
        {
            var payload = await PostgresServer.ScalarAsync<string>(
                $"SELECT 'node-1' || chr(10) || encode(float8send({sortKey.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}::float8), 'hex') || chr(10) || '42'");
            Assert.That(Read(payload, out var node, out var position), Is.True, payload);
            Assert.That((node, position), Is.EqualTo(("node-1", new QueuePosition(sortKey, 42))), payload);
        }

        Assert.That(Read("node-1", out var plain, out var anywhere), Is.True, "a release or the reaper names the node alone");
        Assert.That((plain, anywhere), Is.EqualTo(("node-1", QueuePosition.Head)));
        Assert.That(Read("odd\nname\n7", out plain, out anywhere), Is.True, "a name that looks positioned is still a name");
        Assert.That((plain, anywhere), Is.EqualTo(("odd\nname\n7", QueuePosition.Head)));
        Assert.That(Read("node-2\nc022000000000000\n1", out _, out _), Is.False, "another member's node");
        Assert.That(Read("node-1\n-9\n1", out _, out _), Is.False, "a sort key not written as its bits");
        Assert.That(Read("node-1\nc022000000000000\n", out _, out _), Is.False);
        Assert.That(Read("\nc022000000000000\n1", out _, out _), Is.False);
        Assert.That(new QueuePosition(double.NaN, 1).IsBefore(new QueuePosition(double.MaxValue, 2)), Is.False, "NaN sorts last, as in PostgreSQL");
        Assert.That(new QueuePosition(5, 1).IsBefore(new QueuePosition(5, 2)), Is.True);
        Assert.That(QueuePosition.Head.IsBefore(new QueuePosition(double.MinValue, 1)), Is.True, "a payload without a position announces work before any task");
    }

    [TestCase(3_600_000, false, new[] { 9, 1 }, TestName = "A higher-priority task queued behind a node's scan position is leased next: its notification says where it starts")]
    [TestCase(3_600_000, true, new[] { 1, 9 }, TestName = "A task behind a node's scan position that no notification announced is leased by the scan from the head after a short batch")]
    [TestCase(0, true, new[] { 9, 1 }, TestName = "With QueueRescanInterval zero every lease starts from the head, announced or not")]
    [NonParallelizable]
    public async Task Leases_start_after_the_last_full_batch_unless_work_lands_before_it(int rescanMilliseconds, bool unannounced, int[] expectedStarts)
    {
        Recorded.Starts.Clear();
        var gate = "behind-" + Schema;

        // One slot, nothing prefetched, one task per lease: every lease is a full batch, so each leaves a scan position.
        await using var worker = await ClusterTestKit.Member("rescan", Schema)
            .UsePostgreSqlStore(PostgresServer.ConnectionString, options =>
            {
                options.Prefetch = 0;
                options.LeaseBatchSize = 1;
                options.QueueRescanInterval = TimeSpan.FromMilliseconds(rescanMilliseconds);
            })
            .UseScheduling(SchedulingPolicy.Priority())
            .AddNode("only", node => node.WithConcurrency(1))
            .BuildAsync();
        var first = await worker.SubmitAsync<Gated, string, string>(gate, new TaskOptions { Priority = 1 });
        await Gated.StartedSignal(gate).Task.WaitAsync(TimeSpan.FromMinutes(1));

        // Queued while the slot is taken: one of the same priority, after the position the first lease left, and one of a
        // higher priority, before it. Unannounced: the second is submitted at the same priority and moved before the
        // position in the table, as if its notification had been lost.
        var heard = worker.WorkNoticesHeard;
        var same = await worker.SubmitAsync<Recorded, int, int>(1, new TaskOptions { Priority = 1 });
        var higher = await worker.SubmitAsync<Recorded, int, int>(9, new TaskOptions { Priority = unannounced ? 1 : 9 });
        if (unannounced)
        {
            await PostgresServer.ExecuteAsync($"UPDATE {Schema}.ready SET sort_key = -9 WHERE id = '{higher.Id}'; UPDATE {Schema}.tasks SET sort_key = -9 WHERE id = '{higher.Id}'");
        }

        // The notifications travel apart from the inserts' replies: the slot frees only once both were noted.
        await ClusterTestKit.WaitUntilAsync(() => worker.WorkNoticesHeard >= heard + 2, "both submissions' notifications are heard");

        Gated.Gate(gate).TrySetResult();
        await first;
        await same;
        await higher;

        Assert.That(Recorded.Starts, Is.EqualTo(expectedStarts));
    }

    [Test]
    public async Task A_task_whose_node_keeps_losing_it_is_dead_lettered_and_the_late_acknowledgement_refused()
    {
        await using var worker = await ClusterTestKit.Member("poison", Schema)
            .UsePostgreSqlStore(PostgresServer.ConnectionString, options => options.MaxDeliveries = 2)
            .AddNode("worker-1").BuildAsync();
        var handle = await worker.SubmitAsync<Gated, string, string>("poison-" + Schema);
        await Gated.StartedSignal("poison-" + Schema).Task.WaitAsync(TimeSpan.FromMinutes(1));

        // As if its node had lost it for the second time: the lease ran out and moved on, and that was the last delivery allowed.
        await PostgresServer.ExecuteAsync($"UPDATE {Schema}.tasks SET lease_expires = now() - interval '1 second', attempts = 2, lease_token = lease_token + 1000000; " +
            $"UPDATE {Schema}.leases SET expires = now() - interval '1 second', token = token + 1000000");
        var error = await Assert.ThrowsAsync<RecordedTaskException>(async () => await handle);
        Assert.That(error!.Message, Does.Contain("Dead-lettered"));
        var found = await worker.FindAsync(handle.Id);
        Assert.That(found!.DeadLettered, Is.True);
        Assert.That(found.State, Is.EqualTo(TaskState.Failed));

        // The node still running it finishes late: its acknowledgement is refused, recorded and counted.
        Gated.Gate("poison-" + Schema).TrySetResult();
        await ClusterTestKit.WaitUntilAsync(() => worker.RefusedWrites > 0, "the late acknowledgement is refused");
        Assert.That(await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.refused_acks"), Is.EqualTo(1));
        Assert.That((await worker.FindAsync(handle.Id))!.State, Is.EqualTo(TaskState.Failed), "the refused end changed nothing");
    }

    [Test]
    public async Task A_member_cut_off_from_the_database_for_a_lease_stops_its_attempts_and_another_node_finishes_them()
    {
        await using var proxy = new CutOffProxy(PostgresServer.ConnectionString);
        var name = "cut-" + Schema;
        await using var cutOff = await new TaskClusterBuilder("cutoff")
            .UsePostgreSqlStore(proxy.ConnectionString(PostgresServer.ConnectionString), options =>
            {
                options.Schema = Schema;
                options.LeaseDuration = TimeSpan.FromSeconds(2);
            })
            .AddHandler<Gated, string, string>("gated")
            .AddNode("cut-off")
            .BuildAsync();
        var handle = await cutOff.SubmitAsync<Gated, string, string>(name);
        Assert.That(await Gated.StartedSignal(name).Task.WaitAsync(TimeSpan.FromMinutes(1)), Is.EqualTo("cut-off"));

        proxy.Cut();
        await using var other = await ClusterTestKit.Member("cutoff", Schema).AddNode("other").BuildAsync();

        // The cut-off member cancels its attempt once a lease has passed without a renewal: the gate's wait is cancelled.
        await ClusterTestKit.WaitUntilAsync(() => Gated.CancelledOn.TryGetValue(name, out var node) && node == "cut-off", "the cut-off member cancelled its attempt");

        // Meanwhile the other node took the task over; it runs there once the gate opens.
        Gated.Gate(name).TrySetResult();
        await ClusterTestKit.WaitUntilAsync(() => other.FindAsync(handle.Id).GetAwaiter().GetResult() is { State: TaskState.Completed }, "the other node completed the task");
        var found = await other.FindAsync(handle.Id);
        Assert.That(found!.Node, Is.EqualTo("other"));
        Assert.That(found.ResultJson, Does.Contain("on other"));
        Assert.That(await PostgresServer.ScalarAsync<int>($"SELECT completions FROM {Schema}.tasks"), Is.EqualTo(1));
    }
}
