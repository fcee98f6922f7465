using Npgsql;

namespace TaskDispatch;

public sealed partial class TaskCluster
{
    /// <summary>The longest wait between two pruning passes; a shorter retention prunes at its own pace.</summary>
    private static readonly TimeSpan MaxPruneInterval = TimeSpan.FromMinutes(1);

    private long _prunedTotal;

    /// <summary>Gets how many ended tasks this member pruned.</summary>
    internal long PrunedTasks => Interlocked.Read(ref _prunedTotal);

    /// <summary>Removes the ended tasks whose <see cref="PostgreSqlClusterOptions.OutcomeRetention"/> ran out, a batch at a
    /// time until a batch is not full, then the records of faults as old. Every member prunes: each takes rows no other
    /// holds, so a paused member holds up only its own batch. Its own loop, so that a long backlog of expired tasks never
    /// delays taking back a dead node's tasks.</summary>
    private async Task PruneLoopAsync()
    {
        var token = _stopping.Token;
        var retention = _options.OutcomeRetention!.Value;
        var interval = retention < MaxPruneInterval ? retention : MaxPruneInterval;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _timeProvider, token).ConfigureAwait(false);
                var pruned = 0L;
                DateTimeOffset? after = null;
                int batch;
                do
                {
                    (batch, after) = await PruneTasksAsync(retention, after, token).ConfigureAwait(false);
                    pruned += batch;
                    if (batch > 0)
                    {
                        Interlocked.Add(ref _prunedTotal, batch);
                        _metrics.Pruned(batch);
                    }
                }
                while (batch == _options.WriteBatchSize);

                var records = await PruneRecordsAsync(retention, token).ConfigureAwait(false);

                if (pruned + records > 0)
                {
                    ClusterLog.Pruned(_logger, Name, pruned, records, retention);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                ClusterLog.LoopFailed(_logger, Name, "pruning ended tasks", exception);
            }
        }
    }

    /// <summary>Deletes one batch of ended tasks past the retention, submitted at or after <paramref name="after"/>;
    /// returns how many, and the last submission time it deleted (where the next batch starts).</summary>
    private async Task<(int Pruned, DateTimeOffset? Last)> PruneTasksAsync(TimeSpan retention, DateTimeOffset? after, CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        var walk = new NpgsqlCommand(_sql.PruneWalk, connection, transaction);
        await using (walk.ConfigureAwait(false))
        {
            await walk.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var prune = new NpgsqlCommand(_sql.Prune, connection, transaction);
        await using var pruneDisposal = prune.ConfigureAwait(false);
        prune.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        prune.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = retention });
        prune.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.WriteBatchSize });
        prune.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        int pruned;
        DateTimeOffset? last;
        var reader = await prune.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            pruned = reader.GetInt32(0);
            last = reader.IsDBNull(1) ? after : reader.GetFieldValue<DateTimeOffset>(1);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (pruned, last);
    }

    /// <summary>Deletes the records of refused writes and of recoveries past the retention; returns how many.</summary>
    private async Task<int> PruneRecordsAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        var command = _dataSource.CreateCommand(_sql.PruneRecords);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = retention });
        return (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
