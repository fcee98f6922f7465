using Npgsql;
using NpgsqlTypes;

namespace TaskDispatch;

/// <summary>Checkpoints kept in the task's row, so that any node that takes the task over resumes from them. Saving is
/// fenced by the lease token: a node that lost its lease gets <see cref="LeaseLostException"/>, and the refusal is
/// counted and recorded.</summary>
internal sealed class FencedCheckpointStore(NpgsqlDataSource dataSource, ClusterSql sql, string cluster, LeaseBook leases, ClusterMetrics metrics) : ICheckpointStore
{
    public async ValueTask SaveAsync(TaskCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!leases.TryGet(checkpoint.TaskId, out var lease))
        {
            throw new LeaseLostException($"Task '{checkpoint.TaskId}' is not leased by this member; its checkpoint is not saved.");
        }

        var command = dataSource.CreateCommand(sql.SaveCheckpoint);

        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = cluster });
        command.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = checkpoint.TaskId });
        command.Parameters.Add(new NpgsqlParameter<byte[]>() { TypedValue = checkpoint.Data.ToArray(), NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter<int>() { TypedValue = checkpoint.Attempt });
        command.Parameters.Add(new NpgsqlParameter<long>() { TypedValue = lease.Token });
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            metrics.Refused(1);
            var record = dataSource.CreateCommand(sql.RecordRefused);
            await using var recordDisposal = record.ConfigureAwait(false);
            record.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = cluster });
            record.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = checkpoint.TaskId });
            record.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = lease.Node });
            record.Parameters.Add(new NpgsqlParameter<long>() { TypedValue = lease.Token });
            await record.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            throw new LeaseLostException($"Task '{checkpoint.TaskId}' moved to another node after node '{lease.Node}' lost its lease; this late checkpoint is refused.");
        }
    }

    public async ValueTask<TaskCheckpoint?> LoadAsync(string taskId, CancellationToken cancellationToken)
    {
        var command = dataSource.CreateCommand(sql.LoadCheckpoint);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = cluster });
        command.Parameters.Add(new NpgsqlParameter<string>() { TypedValue = taskId });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new TaskCheckpoint(taskId, reader.GetInt32(1), reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<DateTimeOffset>(2));
    }

    public ValueTask DeleteAsync(string taskId, CancellationToken cancellationToken) =>
        // The accepted acknowledgement clears the checkpoint with the task's end. A delete from this member's dispatcher
        // may come from a cancellation by a stop that hands the task back, whose checkpoint the next node needs.
        ValueTask.CompletedTask;
}
