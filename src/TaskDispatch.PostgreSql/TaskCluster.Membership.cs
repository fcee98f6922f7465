using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TaskDispatch;

public sealed partial class TaskCluster
{
    private NpgsqlConnection? _listener;

    /// <summary>Joins: opens the session that marks this member alive, registers its nodes, reads the cluster, and starts
    /// the loops.</summary>
    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = await OpenListenerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RegisterNodesAsync(_nodes, cancellationToken).ConfigureAwait(false);
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await AbandonStartAsync().ConfigureAwait(false);
            throw;
        }

        ClusterLog.Joined(_logger, Name, MemberId, _nodeList);

        _loops.Add(Task.Run(ListenLoopAsync, CancellationToken.None));
        _writers.Add(Task.Run(InsertLoopAsync, CancellationToken.None));
        _writers.Add(Task.Run(AcknowledgeLoopAsync, CancellationToken.None));
        _loops.Add(Task.Run(HeartbeatLoopAsync, CancellationToken.None));
        _loops.Add(Task.Run(WatchLoopAsync, CancellationToken.None));
        _loops.Add(Task.Run(ResultLoopAsync, CancellationToken.None));
        if (_options.OutcomeRetention is not null)
        {
            _loops.Add(Task.Run(PruneLoopAsync, CancellationToken.None));
        }

        if (_nodes.Length > 0)
        {
            _loops.Add(Task.Run(LeaseLoopAsync, CancellationToken.None));
        }
    }

    /// <summary>Undoes a join that failed part way (a node name taken, the database gone, the start cancelled): the nodes
    /// registered so far are marked left, so that no task is placed on them, and the listener, the local dispatcher and
    /// the meter are released. The builder disposes a data source it made.</summary>
    private async Task AbandonStartAsync()
    {
        try
        {
            await MarkNodesLeftAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // Out of reach: the nodes' heartbeats stop and the others declare them dead.
            ClusterLog.LoopFailed(_logger, Name, "leaving after a failed join", exception);
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        await Local.DisposeAsync().ConfigureAwait(false);
        _metrics.Dispose();
    }

    /// <summary>Marks this member's nodes as left, so that the allocation strategy places nothing more on them.</summary>
    private async Task MarkNodesLeftAsync()
    {
        var leave = _dataSource.CreateCommand(_sql.Leave);
        await using var leaveDisposal = leave.ConfigureAwait(false);
        leave.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        leave.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MemberId });
        await leave.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>The session whose presence says this member is alive (a dropped session is noticed at once, without
    /// waiting for the lease), and on which notifications arrive.</summary>
    private async Task<NpgsqlConnection> OpenListenerAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            connection.Notification += OnNotification;
            var command = new NpgsqlCommand("SELECT set_config('application_name', $1, false)", connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "taskdispatch:" + MemberId });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var listen = new NpgsqlCommand($"LISTEN {_sql.WorkChannel}; LISTEN {_sql.DoneChannel}; LISTEN {_sql.CancelChannel}", connection);
            await using (listen.ConfigureAwait(false))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>How many work notifications for this member's nodes it has heard and noted (tests wait on it).</summary>
    internal int WorkNoticesHeard => Volatile.Read(ref _workNoticesHeard);

    private LocalNode? FindLocalNode(string name) => Array.Find(_nodes, node => node.Name == name);

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification)
    {
        if (notification.Channel == _sql.WorkChannel)
        {
            if (WorkNotice.TryRead(notification.Payload, FindLocalNode, out var node, out var position))
            {
                node.Announce(position);
                Interlocked.Increment(ref _workNoticesHeard);
                _leaseSignal.Set();
            }
        }
        else if (notification.Channel == _sql.DoneChannel)
        {
            var payload = notification.Payload;
            if (payload.Length > MemberId.Length && payload[MemberId.Length] == ':' && payload.StartsWith(MemberId, StringComparison.Ordinal))
            {
                try
                {
                    foreach (var outcome in EndedNotice.Parse(payload.AsSpan(MemberId.Length + 1)))
                    {
                        _ended.Enqueue(outcome);
                    }
                }
                catch (JsonException exception)
                {
                    // Whatever it named is found by a sweep of every awaited id.
                    ClusterLog.LoopFailed(_logger, Name, "reading an ended-tasks notification", exception);
                    Volatile.Write(ref _sweepRequested, 1);
                }

                _resultSignal.Set();
            }
            else if (!_awaitingOthers.IsEmpty)
            {
                _resultSignal.Set();
            }
        }
        else if (notification.Channel == _sql.CancelChannel && _leases.TryGet(notification.Payload, out var lease))
        {
            lease.CancelRequested = true;
            Local.Cancel(notification.Payload);
        }
    }

    /// <summary>How long the listener waits for a notification before it looks whether the member is stopping.</summary>
    private static readonly TimeSpan ListenPollInterval = TimeSpan.FromMilliseconds(250);

    private async Task ListenLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                _listener ??= await OpenListenerAsync(token).ConfigureAwait(false);
                while (!token.IsCancellationRequested)
                {
                    // A timeout, not the stop's token: a wait cancelled through its token can deadlock inside Npgsql
                    // (npgsql/npgsql#5975). Seen here once in CI: a member built and disposed at once never finished
                    // leaving, its listener idle on LISTEN. The loop sees the stop within a poll instead.
                    await _listener.WaitAsync(ListenPollInterval).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // The session is gone: others may already count this member as dead. Reconnect, and catch up on what
                // notifications were missed.
                ClusterLog.LoopFailed(_logger, Name, "listening", exception);
                if (_listener is not null)
                {
                    await _listener.DisposeAsync().ConfigureAwait(false);
                    _listener = null;
                }

                await WaitBeforeRetryAsync(token).ConfigureAwait(false);
                Volatile.Write(ref _sweepRequested, 1);
                _leaseSignal.Set();
                _resultSignal.Set();
            }
        }
    }

    private async Task RegisterNodesAsync(IEnumerable<LocalNode> nodes, CancellationToken cancellationToken)
    {
        foreach (var node in nodes)
        {
            var command = _dataSource.CreateCommand(_sql.RegisterNode);
            await using var commandDisposal = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node.Name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MemberId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Environment.MachineName });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = node.Options.MaxConcurrency });
            command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = node.Options.Weight });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. node.Options.Tags.Order(StringComparer.Ordinal)] });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(new Dictionary<string, double>(node.Options.Resources), ClusterJsonContext.Default.DictionaryStringDouble) });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.LeaseDuration });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.EffectiveHeartbeat * 2 });
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                throw new InvalidOperationException($"Node '{node.Name}' is already registered in cluster '{Name}' by another live member: node names must be unique across the cluster.");
            }
        }
    }

    /// <summary>Every heartbeat: proves this member alive, renews its leases, reads the cluster again, and takes back the
    /// tasks of nodes that died.</summary>
    private async Task HeartbeatLoopAsync()
    {
        // Its own loop, so that nothing slow (reading the cluster, taking back a dead node's tasks) delays a renewal.
        var token = _stopping.Token;
        var lastRenewed = _timeProvider.GetTimestamp();
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.EffectiveHeartbeat, _timeProvider, token).ConfigureAwait(false);
                var attempted = _timeProvider.GetTimestamp();
                await HeartbeatAsync(token).ConfigureAwait(false);
                await RenewAsync(token).ConfigureAwait(false);
                lastRenewed = attempted;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                ClusterLog.LoopFailed(_logger, Name, "heartbeat", exception);
                if (_timeProvider.GetElapsedTime(lastRenewed) >= _options.LeaseDuration)
                {
                    // Cut off from the database for a whole lease: every lease held here has run out on the server's
                    // clock too (it was last extended before this member's last success), and others may run the
                    // tasks. Stop working on them rather than run their side effects twice.
                    AbandonLeases();
                }
            }
        }
    }

    private void AbandonLeases()
    {
        var lost = 0;
        foreach (var lease in _leases.Snapshot())
        {
            if (!lease.Lost)
            {
                lease.Lost = true;
                lease.Abandoned = true;
                lost++;
                Local.Cancel(lease.TaskId);
            }
        }

        if (lost > 0)
        {
            ClusterLog.LeasesLost(_logger, Name, lost);
        }
    }

    /// <summary>At the heartbeat's pace: takes back the tasks of nodes that died; every few heartbeats, reads the
    /// cluster's nodes and loads again (a count over the waiting tasks, not worth paying at every heartbeat).</summary>
    private async Task WatchLoopAsync()
    {
        var token = _stopping.Token;
        var beats = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.EffectiveHeartbeat, _timeProvider, token).ConfigureAwait(false);
                if (++beats % 3 == 0)
                {
                    await RefreshAsync(token).ConfigureAwait(false);
                }

                if (!_analyzed)
                {
                    _analyzed = await AnalyzeNewTablesAsync(token).ConfigureAwait(false);
                }

                // Batch after batch, each past the last, until one is not full.
                for (var after = 0L; after >= 0;)
                {
                    after = await ReapAsync(after, token).ConfigureAwait(false);
                }

                _resultSignal.Set();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                ClusterLog.LoopFailed(_logger, Name, "watching the cluster", exception);
            }
        }
    }

    /// <summary>Analyzes the task and queue tables once they have had enough rows inserted, if nothing (this member,
    /// another, or autovacuum) has analyzed them yet, so that a new cluster does not run for a minute on the planner's
    /// guesses; autovacuum keeps them current from then on.</summary>
    /// <returns>Whether there is nothing more to do: each table was analyzed, or this member tried once (an
    /// <c>ANALYZE</c> by a role that does not own the table only warns, and an empty table keeps no statistics, so
    /// trying again would not help).</returns>
    private async Task<bool> AnalyzeNewTablesAsync(CancellationToken cancellationToken)
    {
        const int EnoughRows = 1_000;
        var due = new List<string>();
        var done = 0;
        var tables = 0;
        var command = _dataSource.CreateCommand(_sql.AnalyzeStatus);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = EnoughRows });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tables++;
                var table = reader.GetString(0);
                if (reader.GetBoolean(2) || _analyzeTried.Contains(table))
                {
                    done++;
                }
                else if (reader.GetBoolean(1))
                {
                    due.Add(table);
                }
            }
        }

        foreach (var table in due)
        {
            _analyzeTried.Add(table);
            done++;

            // SKIP_LOCKED: another member (or autovacuum) analyzing it already is as good.
            var analyze = _dataSource.CreateCommand($"ANALYZE (SKIP_LOCKED) {_options.Schema}.{table}");
            await using var analyzeDisposal = analyze.ConfigureAwait(false);
            await analyze.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return tables > 0 && done == tables;
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var alive = new HashSet<string>(StringComparer.Ordinal);
        var command = _dataSource.CreateCommand(_sql.Heartbeat);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MemberId });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                alive.Add(reader.GetString(0));
            }
        }

        var declaredDead = _nodes.Where(node => !alive.Contains(node.Name)).ToList();
        if (declaredDead.Count > 0)
        {
            // Paused or cut off past the lease: the others took this member's tasks; it joins again as a new node.
            await RegisterNodesAsync(declaredDead, cancellationToken).ConfigureAwait(false);
            ClusterLog.Rejoined(_logger, Name, MemberId, string.Join(", ", declaredDead.Select(node => node.Name)));
        }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        // Only leases committed before the renewal starts: it cannot see the others, and their absence proves nothing.
        var held = _leases.Snapshot().Where(lease => !lease.Lost && lease.Committed).OrderBy(lease => lease.TaskId, StringComparer.Ordinal).ToList();
        if (held.Count == 0)
        {
            return;
        }

        var renewed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in held.Chunk(_options.WriteBatchSize))
        {
            var command = _dataSource.CreateCommand(_sql.Renew);
            await using var commandDisposal = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. chunk.Select(lease => lease.TaskId)] });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. chunk.Select(lease => lease.Token)] });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.LeaseDuration });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                renewed.Add(reader.GetString(0));
            }
        }

        var lost = 0;
        foreach (var lease in held)
        {
            if (!renewed.Contains(lease.TaskId) && !lease.Ended && _leases.TryGet(lease.TaskId, out var current) && current == lease)
            {
                // The task moved on: stop working on it here. Its end, when it comes, is refused and counted.
                lease.Lost = true;
                lost++;
                Local.Cancel(lease.TaskId);
            }
        }

        if (lost > 0)
        {
            ClusterLog.LeasesLost(_logger, Name, lost);
        }
    }

    /// <summary>Reads the live nodes and their load into the placer.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var nodes = await GetNodesAsync(cancellationToken).ConfigureAwait(false);
        _placer.Refresh(nodes.Where(node => node.IsAlive).Select(node => (node.Name, ToOptions(node), node.Load)));
    }

    private static NodeOptions ToOptions(ClusterNodeInfo node)
    {
        var options = new NodeOptions { MaxConcurrency = node.Slots, Weight = node.Weight };
        foreach (var tag in node.Tags)
        {
            options.Tags.Add(tag);
        }

        foreach (var (resource, capacity) in node.Resources)
        {
            options.Resources[resource] = capacity;
        }

        return options;
    }

    /// <summary>Takes back the tasks of nodes whose member's session dropped or whose heartbeat stopped, and tasks whose
    /// lease ran out, and places them again with the allocation strategy; a task interrupted too often is dead-lettered,
    /// one cancelled by id ends cancelled. Every live member may reap at once: each takes the rows no other holds
    /// (<c>FOR UPDATE SKIP LOCKED</c>), so a reaper that stalls (a paused process) holds up only its own batch, never the
    /// others, as a cluster-wide lock would.</summary>
    /// <param name="after">The sequence number the batch starts after.</param>
    /// <param name="cancellationToken">Stops the pass.</param>
    /// <returns>The last sequence number of a full batch, to go on after it; -1 when there is no more.</returns>
    private async Task<long> ReapAsync(long after, CancellationToken cancellationToken)
    {
        var dead = new List<string>();
        var declareCommand = _dataSource.CreateCommand(_sql.DeclareDead);
        await using (declareCommand.ConfigureAwait(false))
        {
            declareCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            declareCommand.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.LeaseDuration });
            declareCommand.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.EffectiveHeartbeat * 2 });
            var reader = await declareCommand.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                dead.Add(reader.GetString(0));
            }
        }

        if (dead.Count > 0)
        {
            // Place nothing more on the dead.
            _placer.Remove(dead);
        }

        // Most of the time there is nothing to take back: a check of the narrow tables says so (deleting, in passing, the
        // lease rows that ran out holding nothing).
        var needed = _dataSource.CreateCommand(_sql.ReapNeeded);
        await using (needed.ConfigureAwait(false))
        {
            needed.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            needed.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = _placer.LiveCount > 0 });
            if (await needed.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
            {
                return -1;
            }
        }

        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        // A member paused in here (SIGSTOP) would hold these rows: the server ends its session once it sits idle in the
        // transaction for a lease. A batch small enough to fit in the sockets' buffers means the server is never left
        // blocked sending rows to a paused client, where that timeout does not apply.
        var timeoutCommand = new NpgsqlCommand($"SET LOCAL idle_in_transaction_session_timeout = {(long)_options.LeaseDuration.TotalMilliseconds}", connection, transaction);
        await using (timeoutCommand.ConfigureAwait(false))
        {
            await timeoutCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        const int Limit = 200;
        var orphans = new List<(string Id, string Options, string? Node, short State, int Deliveries, bool CancelRequested, DateTimeOffset? RenewedAt, DateTimeOffset Now, long Seq)>();
        var selectCommand = new NpgsqlCommand(_sql.Orphans, connection, transaction);
        await using (selectCommand.ConfigureAwait(false))
        {
            selectCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            selectCommand.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.LeaseDuration });
            selectCommand.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Limit });
            selectCommand.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = _placer.LiveCount > 0 });
            selectCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
            var reader = await selectCommand.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                orphans.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt16(3), reader.GetInt32(4), reader.GetBoolean(5),
                    reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetInt64(8)));
            }
        }

        if (orphans.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return -1;
        }

        var ids = new string[orphans.Count];
        var states = new short[orphans.Count];
        var nodes = new string?[orphans.Count];
        var deadLetters = new bool[orphans.Count];
        var errors = new string?[orphans.Count];
        var recovered = new int[orphans.Count];
        var recoveries = new List<(string Id, string From, string? To, string Reason, DateTimeOffset RenewedAt)>();
        for (var i = 0; i < orphans.Count; i++)
        {
            var orphan = orphans[i];
            ids[i] = orphan.Id;
            var wasLeased = orphan.State == ClusterSchema.Leased;
            recovered[i] = wasLeased ? 1 : 0;
            if (orphan.CancelRequested)
            {
                // A waiting task is flagged instead of ended when a cancel finds its queue row held (by this reaper).
                states[i] = ClusterSchema.Cancelled;
                errors[i] = wasLeased ? "Cancelled by id; its node died before it ended." : "Cancelled by id.";
            }
            else if (wasLeased && orphan.Deliveries >= _options.MaxDeliveries)
            {
                states[i] = ClusterSchema.Failed;
                deadLetters[i] = true;
                errors[i] = DeadLetterError(orphan.Deliveries);
                DeadLettered(orphan.Id, orphan.Deliveries);
            }
            else
            {
                states[i] = ClusterSchema.Waiting;
                TaskOptions options;
                try
                {
                    options = StoredOptions.Deserialize(orphan.Options, orphan.Now);
                }
                catch (JsonException)
                {
                    options = DefaultOptions;
                }

                nodes[i] = _placer.Place(Describe(orphan.Id, options, orphan.Now), wasLeased ? orphan.Node : null);
            }

            if (wasLeased)
            {
                var renewedAt = orphan.RenewedAt ?? orphan.Now;
                recoveries.Add((orphan.Id, orphan.Node ?? "?", nodes[i], dead.Contains(orphan.Node ?? string.Empty) ? "node died" : "lease expired", renewedAt));
                _metrics.Recovered(orphan.Now - renewedAt);
            }
        }

        var replaceCommand = new NpgsqlCommand(_sql.Replace, connection, transaction);

        await using (replaceCommand.ConfigureAwait(false))
        {
            replaceCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            replaceCommand.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
            replaceCommand.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = states });
            replaceCommand.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = nodes });
            replaceCommand.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = deadLetters });
            replaceCommand.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = errors });
            replaceCommand.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = recovered });
            replaceCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.DoneChannel });
            await replaceCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (recoveries.Count > 0)
        {
            var recordCommand = new NpgsqlCommand(_sql.RecordRecoveries, connection, transaction);
            await using var commandDisposal = recordCommand.ConfigureAwait(false);
            recordCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            recordCommand.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. recoveries.Select(r => r.Id)] });
            recordCommand.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. recoveries.Select(r => r.From)] });
            recordCommand.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. recoveries.Select(r => r.To)] });
            recordCommand.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. recoveries.Select(r => r.Reason)] });
            recordCommand.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. recoveries.Select(r => r.RenewedAt.ToUniversalTime())] });
            await recordCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await NotifyAsync(connection, _sql.WorkChannel, nodes.OfType<string>().Distinct(StringComparer.Ordinal)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (recoveries.Count > 0)
        {
            ClusterLog.Recovered(_logger, Name, dead.Count > 0 ? string.Join(", ", dead) : string.Join(", ", recoveries.Select(r => r.From).Distinct()), recoveries.Count);
        }

        // Rows that stay unplaced (no live node can take them) are passed over, not taken again, in this pass.
        return orphans.Count == Limit ? orphans[^1].Seq : -1;
    }

    /// <summary>Completes the handles of tasks this member submitted once they ended anywhere: woken by NOTIFY, with the
    /// heartbeat as a safety net.</summary>
    private async Task ResultLoopAsync()
    {
        var token = _stopping.Token;
        var lastSweep = _timeProvider.GetUtcNow();

        // The ids awaited at the last timed sweep: the next one reads back only those still awaited, so that a task whose
        // notification is merely on its way is not read too (in a busy cluster that was most of them, and 2-5 % of the
        // server's statement time). A lost notification is made good within two intervals.
        var awaitedAtLastSweep = new HashSet<string>(StringComparer.Ordinal);
        while (!token.IsCancellationRequested)
        {
            try
            {
                // Woken with the ids that ended (NOTIFY), and by every watch pass.
                await _resultSignal.WaitAsync(_options.IdleSweepInterval, _timeProvider, token).ConfigureAwait(false);
                var ids = new List<string>();
                while (_ended.TryDequeue(out var outcome))
                {
                    if (outcome.State is { } state)
                    {
                        CompleteAwaited(outcome.Id, state, outcome.Result, outcome.Error, outcome.ErrorType);
                    }
                    else
                    {
                        ids.Add(outcome.Id);
                    }
                }

                // The sweep is due by time, not by silence: the heartbeat wakes this loop more often than the sweep
                // interval. A reconnected listener or a payload that could not be read asks for one of every awaited id at once.
                var now = _timeProvider.GetUtcNow();
                var sweepAll = Interlocked.Exchange(ref _sweepRequested, 0) == 1;
                if (sweepAll || now - lastSweep >= _options.IdleSweepInterval)
                {
                    lastSweep = now;
                    var awaited = _awaiting.Ids;
                    ids.AddRange(sweepAll ? awaited : awaited.Where(awaitedAtLastSweep.Contains));
                    awaitedAtLastSweep = new HashSet<string>(awaited, StringComparer.Ordinal);
                }

                ids.AddRange(_awaitingOthers.Ids);
                foreach (var chunk in ids.Distinct(StringComparer.Ordinal).Chunk(_options.WriteBatchSize))
                {
                    await CollectEndedAsync(chunk, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                ClusterLog.LoopFailed(_logger, Name, "collecting results", exception);
                await WaitBeforeRetryAsync(token).ConfigureAwait(false);
            }
        }
    }

    private async Task CollectEndedAsync(string[] ids, CancellationToken cancellationToken)
    {
        var command = _dataSource.CreateCommand(_sql.OutcomesById);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
        // Which handles' rows were committed before the read: only those can be missing from it because they are gone.
        // A row committed after this point may be missing from the read's snapshot, and its handle must not be failed.
        var storedBefore = new List<(string Id, ClusterTaskHandle Handle)>();
        foreach (var id in ids)
        {
            foreach (var handle in _awaiting.Get(id).Concat(_awaitingOthers.Get(id)))
            {
                if (handle.Stored)
                {
                    storedBefore.Add((id, handle));
                }
            }
        }

        Interlocked.Add(ref _idsReadBack, ids.Length);
        var found = new HashSet<string>(ids.Length, StringComparer.Ordinal);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                found.Add(id);
                var state = reader.GetInt16(1);
                if (state < ClusterSchema.Completed)
                {
                    continue;
                }

                Interlocked.Increment(ref _outcomesReadBack);
                CompleteAwaited(
                    id,
                    (TaskState)state,
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4));
            }
        }

        if (OutcomesReadForTest is { } hook)
        {
            await hook(ids).ConfigureAwait(false);
        }

        foreach (var (id, handle) in storedBefore)
        {
            if (!found.Contains(id))
            {
                FailPruned(id, handle);
            }
        }
    }

    /// <summary>Fails the handle of a task whose row, committed before the read that missed it, is gone: it ended and was
    /// pruned (see <see cref="PostgreSqlClusterOptions.OutcomeRetention"/>) before this member read its outcome.</summary>
    private void FailPruned(string id, ClusterTaskHandle handle)
    {
        if (_awaiting.Remove(id, handle) || _awaitingOthers.Remove(id, handle))
        {
            var own = _options.OutcomeRetention is { } kept ? kept.ToString() : "none";
            handle.Fail(new TaskStoreException($"Task '{id}' of cluster '{Name}' is no longer in the store: its row was removed before this member read its outcome. Ended tasks are pruned after the shortest {nameof(PostgreSqlClusterOptions.OutcomeRetention)} any member of the cluster sets (this member's: {own})."));
        }
    }

    /// <summary>Completes the awaited handle of a task that ended, from a notification or a read.</summary>
    private void CompleteAwaited(string id, TaskState state, string? result, string? error, string? errorType)
    {
        // Two plain loops: this runs once per ended task, and a concatenation would allocate each time.
        foreach (var handle in _awaiting.RemoveAll(id))
        {
            handle.Complete(state, result, error, errorType);
        }

        foreach (var handle in _awaitingOthers.RemoveAll(id))
        {
            handle.Complete(state, result, error, errorType);
        }
    }

    /// <summary>How long a stop cut short (<see cref="StopAsync"/>'s token), or given less than this, still waits for the
    /// last writes.</summary>
    private static readonly TimeSpan HurriedWriteGrace = TimeSpan.FromSeconds(1);

    private async Task StopCoreAsync(TimeSpan timeout, CancellationToken hurry)
    {
        // Stop taking work; let what runs here finish (what the deadline or the hurry cuts is handed back, not cancelled).
        // Leases are still renewed meanwhile, so a long drain does not lose them.
        await _leasing.CancelAsync().ConfigureAwait(false);
        await Local.StopAsync(ShutdownMode.Drain, timeout, hurry).ConfigureAwait(false);
        while (Volatile.Read(ref _leasedRunning) > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), _timeProvider, CancellationToken.None).ConfigureAwait(false);
        }

        _inserts.Writer.TryComplete();
        _acks.Writer.TryComplete();
        // Ends still unwritten when the database stays away are given up: their leases run out and the tasks run again
        // elsewhere (at least once), rather than the stop hanging. A hurried stop still gives them a moment: they usually
        // take milliseconds, and each one spares a task that finished here from running again.
        var writes = Task.WhenAll(_writers);
        var budget = timeout != Timeout.InfiniteTimeSpan && timeout < HurriedWriteGrace ? HurriedWriteGrace : timeout;
        try
        {
            try
            {
                await writes.WaitAsync(budget, _timeProvider, hurry).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (hurry.IsCancellationRequested)
            {
                budget = HurriedWriteGrace;
                await writes.WaitAsync(budget, _timeProvider, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            ClusterLog.LoopFailed(_logger, Name, "writing the last acknowledgements before leaving", new TimeoutException($"The database did not take this member's last writes within {budget}."));
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);

        var released = 0;
        try
        {
            released = await ReleaseAsync([.. _leases.Snapshot().Where(lease => !lease.Ended)]).ConfigureAwait(false);
            foreach (var node in _nodes.Where(node => node.LeaseInDoubt))
            {
                // A lease the stop cut off may have committed: its tasks go back now, not once it runs out.
                released += await ReleaseLeasesInDoubtAsync(node, CancellationToken.None).ConfigureAwait(false);
            }

            await MarkNodesLeftAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // The database is out of reach: the others see this member's heartbeat stop and take its nodes' work.
            ClusterLog.LoopFailed(_logger, Name, "leaving", exception);
        }

        ClusterLog.Left(_logger, Name, MemberId, released);
        // Until none is left: a handle moving from one table to the other (its id found taken) is failed in either.
        while (!_awaiting.IsEmpty || !_awaitingOthers.IsEmpty)
        {
            foreach (var id in _awaiting.Ids.Concat(_awaitingOthers.Ids).ToList())
            {
                foreach (var handle in _awaiting.RemoveAll(id).Concat(_awaitingOthers.RemoveAll(id)))
                {
                    handle.Fail(new ObjectDisposedException(nameof(TaskCluster), $"Cluster member {MemberId} stopped before task '{handle.Id}' ended; the task goes on in the cluster: look it up with FindAsync from any member."));
                }
            }
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        _metrics.Dispose();
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
