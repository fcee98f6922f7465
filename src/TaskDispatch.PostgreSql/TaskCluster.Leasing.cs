using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TaskDispatch;

public sealed partial class TaskCluster
{
    /// <summary>A task a node leased: what the table holds about it, and the lease.</summary>
    private sealed record LeasedTask(string Id, string Handler, string Input, string Options, long Token, QueuePosition Position, int Deliveries, string? Submitter, LeaseBook.Lease Lease);

    /// <summary>Leases for every node that has room, in batches, and sleeps until a notification, a freed slot, or the
    /// next delayed task's time; the idle sweep is only a safety net for a lost notification.</summary>
    private async Task LeaseLoopAsync()
    {
        var token = _leasing.Token;
        while (!token.IsCancellationRequested)
        {
            var leased = 0;
            var room = false;
            try
            {
                // Ends the database has not taken yet hold their leases: while they pile up (a slow server), leasing more
                // would only lengthen the queue the new ends join, until ends come too late and their tasks run again.
                var endsBehind = Volatile.Read(ref _endsUnwritten) >= EndsBacklogLimit;
                foreach (var node in _nodes)
                {
                    var free = node.Capacity - node.Held;
                    if (endsBehind || free <= 0 || (node.Held > 0 && free < Math.Max(1, node.Capacity / 2)))
                    {
                        continue;
                    }

                    room = true;
                    if (node.LeaseInDoubt)
                    {
                        await ReleaseLeasesInDoubtAsync(node, token).ConfigureAwait(false);
                        node.LeaseInDoubt = false;
                    }

                    var batch = await LeaseAsync(node, Math.Min(free, _options.LeaseBatchSize), token).ConfigureAwait(false);
                    leased += batch.Count;
                    node.Hold(batch.Count);
                    foreach (var task in batch)
                    {
                        _ = RunLeasedAsync(node, task);
                    }
                }

                if (leased > 0)
                {
                    _metrics.Leased(leased);
                    continue;
                }

                var wait = _options.IdleSweepInterval;
                if (room && await NextReadyAsync(token).ConfigureAwait(false) is { } next)
                {
                    var until = next - _timeProvider.GetUtcNow();
                    wait = until < wait ? (until > TimeSpan.Zero ? until : TimeSpan.FromMilliseconds(1)) : wait;
                }

                await _leaseSignal.WaitAsync(wait, _timeProvider, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                ClusterLog.LoopFailed(_logger, Name, "leasing", exception);
                await WaitBeforeRetryAsync(token).ConfigureAwait(false);
            }
        }
    }

    private async Task<List<LeasedTask>> LeaseAsync(LocalNode node, int count, CancellationToken cancellationToken)
    {
        var tasks = new List<LeasedTask>(count);

        // A scan from the head of the queue walks the entries of the rows earlier leases deleted, which its index keeps
        // until they are cleaned up: it grew to 12 ms a lease while the benchmark drained 20,000 tasks. A scan from where
        // the node's last full batch ended skips them. A task queued behind that mark (a higher priority, an earlier
        // sequence number committed late, a release) is found by the next scan from the head: at once when its
        // notification says so, after a batch that came back short, and every QueueRescanInterval for what no
        // notification announces (a delayed task whose time came, a notification lost with a connection).
        var now = _timeProvider.GetTimestamp();
        var mark = node.TakeAnnouncedBefore(node.ScanMark) || _timeProvider.GetElapsedTime(node.HeadScannedAt, now) >= _options.QueueRescanInterval
            ? null
            : node.ScanMark;
        var command = _dataSource.CreateCommand(mark is null ? _sql.Lease : _sql.LeaseAfterMark);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node.Name });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.LeaseDuration });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MemberId });
        if (mark is { } after)
        {
            command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = after.SortKey });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after.Sequence });
        }

        try
        {
            await ReadLeasedAsync(command, node, tasks, cancellationToken).ConfigureAwait(false);
            if (tasks.Count > 0 && LoseLeaseReply?.Invoke() == true)
            {
                throw new TimeoutException("The lease's reply was lost (a test's fault).");
            }
        }
        catch
        {
            // Nothing of it runs here. Had it committed after all (its end unheard), the next lease for the node first
            // hands its tasks back (ReleaseLeasesInDoubtAsync).
            foreach (var task in tasks)
            {
                _leases.Remove(task.Lease);
            }

            // Work announced before the mark was forgotten by this lease, and the tasks ReleaseLeasesInDoubtAsync hands
            // back before the node's next lease sit before it (their notification may come after that lease).
            node.LeaseInDoubt = true;
            node.ScanMark = null;
            throw;
        }

        // The rows arrive before the commit; the reader is done once the server said it is ready again, committed.
        foreach (var task in tasks)
        {
            task.Lease.Committed = true;
        }

        // The rows come back in no particular order: in the queue's, they run in it and the last one is the mark.
        tasks.Sort(static (left, right) => left.Position.CompareTo(right.Position));

        if (mark is null)
        {
            node.HeadScannedAt = now;
        }

        if (tasks.Count > 0)
        {
            node.LastLeaseToken = tasks[0].Token;
        }

        node.ScanMark = tasks.Count < count ? null : tasks[^1].Position;

        return tasks;
    }

    /// <summary>Ends queued for writing whose statement has not run yet.</summary>
    private int _endsUnwritten;

    /// <summary>Gets the ends queued for writing whose statement has not run yet (tests).</summary>
    internal int EndsUnwritten => Volatile.Read(ref _endsUnwritten);

    /// <summary>How many ends may wait to be written before the member stops leasing: two full acknowledgements.</summary>
    private int EndsBacklogLimit => 2 * _options.WriteBatchSize;

    /// <summary>Tests set it to hold back an acknowledgement of the given task ids, as a slow or busy database would,
    /// or to fail it.</summary>
    internal Func<IReadOnlyList<string>, Task>? BeforeAcknowledgement { get; set; }

    /// <summary>Tests set it to make a lease that committed with tasks fail as if its reply had been lost.</summary>
    internal Func<bool>? LoseLeaseReply { get; set; }

    /// <summary>Hands back the tasks of the node's leases whose statement failed after it committed, before the node
    /// leases again: without this they would wait for the lease to run out, and their next run would count as one more
    /// delivery. A lease whose statement is still running on the server is not seen yet; the reaper takes it back once
    /// it runs out.</summary>
    private async Task<int> ReleaseLeasesInDoubtAsync(LocalNode node, CancellationToken cancellationToken)
    {
        var doubtful = new List<LeaseBook.Lease>();
        var command = _dataSource.CreateCommand(_sql.LeasesInDoubt);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node.Name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MemberId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = node.LastLeaseToken });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var token = reader.GetInt64(0);
                doubtful.AddRange(reader.GetFieldValue<string[]>(1).Select(id => new LeaseBook.Lease(id, token, node.Name)));
            }
        }

        if (doubtful.Count == 0)
        {
            return 0;
        }

        var released = await ReleaseAsync([.. doubtful]).ConfigureAwait(false);
        ClusterLog.LeasesInDoubtReleased(_logger, Name, node.Name, released);
        return released;
    }

    private async Task ReadLeasedAsync(NpgsqlCommand command, LocalNode node, List<LeasedTask> tasks, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                var token = reader.GetInt64(4);

                // Held from the moment the row is ours, so that a renewal that runs before the task starts keeps it.
                var lease = new LeaseBook.Lease(id, token, node.Name) { CancelRequested = reader.GetBoolean(7) };
                _leases.Add(lease);
                tasks.Add(new LeasedTask(id, reader.GetString(1), reader.GetString(2), reader.GetString(3), token, new QueuePosition(reader.GetDouble(5), reader.GetInt64(6)), reader.GetInt32(8), reader.IsDBNull(9) ? null : reader.GetString(9), lease));
            }
        }
    }

    private async Task<DateTimeOffset?> NextReadyAsync(CancellationToken cancellationToken)
    {
        var command = _dataSource.CreateCommand(_sql.NextReady);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. _nodes.Select(node => node.Name)] });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is DateTime next
            ? new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc))
            : null;
    }

    /// <summary>Runs one leased task on this member's dispatcher, pinned to the node that leased it, then queues its end.</summary>
    private async Task RunLeasedAsync(LocalNode node, LeasedTask task)
    {
        var lease = task.Lease;
        var endQueued = false;
        Interlocked.Increment(ref _leasedRunning);
        try
        {
            Acknowledgement? end;
            if (task.Deliveries > _options.MaxDeliveries)
            {
                // The reaper dead-letters a poison task instead of placing it again; this catches one placed by a member
                // that allows more deliveries than this one.
                DeadLettered(task.Id, task.Deliveries - 1);
                end = new Acknowledgement(task.Id, task.Token, node.Name, TaskState.Failed, null, DeadLetterError(task.Deliveries - 1), typeof(NodeFailureException).FullName, DeadLetter: true);
            }
            else if (lease.CancelRequested)
            {
                end = new Acknowledgement(task.Id, task.Token, node.Name, TaskState.Cancelled, null, "Cancelled by id.", null, false);
            }
            else if (!_handlersByName.TryGetValue(task.Handler, out var handler))
            {
                end = new Acknowledgement(task.Id, task.Token, node.Name, TaskState.Failed, null,
                    $"No handler named '{task.Handler}' is registered in member {MemberId}: every member of cluster '{Name}' must register the same handlers (AddHandler).", typeof(InvalidOperationException).FullName, false);
            }
            else
            {
                try
                {
                    end = await RunAsync(node, task, handler, lease).ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    // This member could not run it at all (its dispatcher refused it): the task ends failed with why,
                    // rather than its lease running out again and again.
                    end = new Acknowledgement(task.Id, task.Token, node.Name, TaskState.Failed, null, exception.Message, exception.GetType().FullName, false);
                }
            }

            if (end is { } acknowledgement)
            {
                lease.Ended = true;
                Interlocked.Increment(ref _endsUnwritten);
                endQueued = _acks.Writer.TryWrite(acknowledgement with { Error = StorableText(acknowledgement.Error), Submitter = task.Submitter, Lease = lease });
                if (!endQueued)
                {
                    Interlocked.Decrement(ref _endsUnwritten);
                }
            }
        }
        finally
        {
            if (!endQueued)
            {
                _leases.Remove(lease);
            }

            Interlocked.Decrement(ref _leasedRunning);
            node.Hold(-1);
            _leaseSignal.Set();
        }
    }

    private async Task<Acknowledgement?> RunAsync(LocalNode node, LeasedTask task, ClusterHandler handler, LeaseBook.Lease lease)
    {
        TaskOptions options;
        try
        {
            options = PinnedOptions(task, node.Name);
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException)
        {
            return new Acknowledgement(task.Id, task.Token, node.Name, TaskState.Failed, null, $"The task's stored options no longer read: {exception.Message}", exception.GetType().FullName, false);
        }

        if (Local.TryGetHandle(task.Id, out var earlier) && earlier is { IsFinished: false })
        {
            // An earlier delivery of this task to this member lost its lease (this process was paused) and was
            // cancelled; it ends before this delivery starts, so that the two never run side by side here.
            try
            {
                await earlier.Completion.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Its outcome was refused already; only its end matters here.
            }
        }

        var outcome = await handler.RunAsync(Local, task.Input, options).ConfigureAwait(false);
        if (outcome.State == TaskState.Cancelled && !lease.CancelRequested)
        {
            // Cancelled by this member, not at anyone's request. Cut off from the database: nothing is written, the lease
            // runs out and the task is placed again. Leaving: the task goes back to the cluster now. Otherwise the lease
            // was lost, and the end below is refused and counted.
            if (lease.Abandoned)
            {
                return null;
            }

            if (!lease.Lost && _leasing.IsCancellationRequested)
            {
                await ReleaseAsync([lease]).ConfigureAwait(false);
                return null;
            }
        }

        return new Acknowledgement(task.Id, task.Token, node.Name, outcome.State, outcome.ResultJson, outcome.Error?.Message, outcome.Error?.GetType().FullName, false);
    }

    /// <summary>Why a task was dead-lettered: the one wording the reaper and the lease use.</summary>
    private string DeadLetterError(int deliveries) =>
        $"Dead-lettered: its node died or lost its lease in each of {deliveries} deliveries (MaxDeliveries = {_options.MaxDeliveries}).";

    private void DeadLettered(string taskId, int deliveries)
    {
        _metrics.DeadLettered();
        ClusterLog.DeadLettered(_logger, Name, taskId, deliveries);
    }

    /// <summary>The task's stored options, pinned to the node that leased it, with its cluster id.</summary>
    private static TaskOptions PinnedOptions(LeasedTask task, string node) => StoredOptions.Deserialize(task.Options, readyAt: null, task.Id, node);

    /// <summary>Writes the ends waiting, many per statement; ends whose lease moved on are refused, recorded and counted.
    /// Submitters hear of the accepted ones through one NOTIFY each.</summary>
    private async Task AcknowledgeLoopAsync()
    {
        var reader = _acks.Reader;
        var batch = new List<Acknowledgement>(_options.WriteBatchSize);
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (batch.Count < _options.WriteBatchSize && reader.TryRead(out var acknowledgement))
            {
                batch.Add(acknowledgement);
            }

            await WriteEndsAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    /// <summary>Writes <paramref name="batch"/>, retrying while the server is out of reach. A batch the server or the
    /// driver can never take (an end whose text they reject) is split until the end at fault is alone; that end is
    /// given up (event 3009): its lease runs out, the task runs again elsewhere, and after <c>MaxDeliveries</c> it is
    /// dead-lettered. The loop itself never stops: a stopped loop would hold every later end, and its lease, for good.</summary>
    private async Task WriteEndsAsync(List<Acknowledgement> batch)
    {
        while (true)
        {
            try
            {
                var refused = await AcknowledgeAsync(batch).ConfigureAwait(false);
                _metrics.Acknowledged(batch.Count - refused);
                if (refused > 0)
                {
                    _metrics.Refused(refused);
                    ClusterLog.WritesRefused(_logger, Name, refused);
                }

                break;
            }
            catch (Exception exception) when (IsTransient(exception))
            {
                // The ends stay here until the server answers; if their leases run out meanwhile, they are refused.
                ClusterLog.LoopFailed(_logger, Name, "acknowledging", exception);
                await WaitBeforeRetryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception) when (batch.Count > 1)
            {
                ClusterLog.LoopFailed(_logger, Name, $"acknowledging {batch.Count} ends (split to find the one at fault)", exception);
                var half = batch.Count / 2;
                await WriteEndsAsync(batch.GetRange(0, half)).ConfigureAwait(false);
                await WriteEndsAsync(batch.GetRange(half, batch.Count - half)).ConfigureAwait(false);
                return;
            }
            catch (Exception exception)
            {
                ClusterLog.EndGivenUp(_logger, Name, batch[0].TaskId, batch[0].State, exception);
                break;
            }
        }

        foreach (var written in batch)
        {
            _leases.Remove(written.Lease!);
        }

        Interlocked.Add(ref _endsUnwritten, -batch.Count);
        _leaseSignal.Set();
    }

    /// <summary>PostgreSQL text cannot hold U+0000: an error message with one would be refused with its whole batch, so it
    /// is stored with U+FFFD in its place.</summary>
    private static string? StorableText(string? text) => text is not null && text.Contains('\0', StringComparison.Ordinal) ? text.Replace('\0', '\uFFFD') : text;

    /// <summary>Whether a failed write may succeed when tried again: anything from the server or the connection but a
    /// rejection of what was sent (bad data, a violated constraint, a statement the server will never run). Npgsql's
    /// own <c>IsTransient</c> lists fewer server errors; one it leaves out would give up ends that the server takes a
    /// moment later, so only the classes that describe what was sent count as final.</summary>
    private static bool IsTransient(Exception exception) => exception switch
    {
        TimeoutException => true,
        PostgresException { SqlState: var state } => state.AsSpan(0, 2) is not ("22" or "23" or "42" or "54" or "0A"),
        NpgsqlException => true,
        _ => false,
    };

    private async Task<int> AcknowledgeAsync(List<Acknowledgement> batch)
    {
        // Rows are written in id order, as renewals and releases write them, so that two statements waiting on each
        // other's rows cannot deadlock.
        batch.Sort(static (left, right) => string.CompareOrdinal(left.TaskId, right.TaskId));
        if (BeforeAcknowledgement is { } before)
        {
            await before([.. batch.Select(ack => ack.TaskId)]).ConfigureAwait(false);
        }

        var command = _dataSource.CreateCommand(_sql.Acknowledge);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(ack => ack.TaskId)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. batch.Select(ack => ack.Token)] });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = [.. batch.Select(ack => (short)ack.State)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. batch.Select(ack => ack.Result)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. batch.Select(ack => ack.Error)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. batch.Select(ack => ack.ErrorType)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(ack => ack.Node)] });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. batch.Select(ack => ack.DeadLetter)] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.DoneChannel });
        AddEndedEntries(command, batch);
        var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        await reader.ReadAsync().ConfigureAwait(false);
        return reader.GetInt32(0);
    }

    /// <summary>The notifications of an acknowledgement, made here rather than by the server (which spent a fifth of the
    /// statement building JSON): each awaited end's entry, its submitter, and its group, so that a submitter's entries
    /// fill payloads of about <see cref="EndedNotice.PayloadBytes"/>. The statement sends only the groups' accepted
    /// entries.</summary>
    private static void AddEndedEntries(NpgsqlCommand command, List<Acknowledgement> batch)
    {
        var entries = new string?[batch.Count];
        var groups = new int[batch.Count];
        var bytesBySubmitter = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            var ack = batch[i];
            if (ack.Submitter is not { } submitter)
            {
                continue;
            }

            if (EndedNotice.Entry(ack.TaskId, ack.State, ack.Result, ack.Error, ack.ErrorType) is not { } entry)
            {
                continue;
            }

            entries[i] = entry;

            // As the server did: an entry counts 2 bytes more for the separator, and a group closes past the size.
            var bytes = bytesBySubmitter.GetValueOrDefault(submitter) + entry.Length + 2;
            bytesBySubmitter[submitter] = bytes;
            groups[i] = (int)(bytes / EndedNotice.PayloadBytes);
        }

        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. batch.Select(ack => ack.Submitter)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = entries });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = groups });
    }

    /// <summary>Hands leases back untouched (not a delivery spent): the tasks wait for any node again.</summary>
    private async Task<int> ReleaseAsync(LeaseBook.Lease[] leases)
    {
        if (leases.Length == 0)
        {
            return 0;
        }

        Array.Sort(leases, static (left, right) => string.CompareOrdinal(left.TaskId, right.TaskId));

        var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);

        await using var connectionDisposal = connection.ConfigureAwait(false);
        var nodes = new List<string>();
        var command = new NpgsqlCommand(_sql.Release, connection);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. leases.Select(lease => lease.TaskId)] });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. leases.Select(lease => lease.Token)] });
            var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                nodes.Add(reader.GetString(0));
            }
        }

        await NotifyAsync(connection, _sql.WorkChannel, nodes.Distinct(StringComparer.Ordinal)).ConfigureAwait(false);
        return nodes.Count;
    }

    private async Task NotifyAsync(NpgsqlConnection connection, string channel, IEnumerable<string> payloads)
    {
        var command = new NpgsqlCommand(_sql.Notify, connection);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. payloads] });
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private async Task WaitBeforeRetryAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
