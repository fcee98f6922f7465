using System.Collections.Concurrent;

namespace TaskDispatch;

/// <summary>Keeps checkpoints in this process's memory: they survive a failed attempt, not a process restart.</summary>
/// <remarks>Thread-safe and lock-free. Checkpoints of tasks that fail stay until deleted or the store is dropped.</remarks>
public sealed class InMemoryCheckpointStore : ICheckpointStore
{
    private readonly ConcurrentDictionary<string, TaskCheckpoint> _checkpoints = new(StringComparer.Ordinal);

    /// <summary>Gets how many tasks have a checkpoint stored.</summary>
    public int Count => _checkpoints.Count;

    /// <inheritdoc />
    public ValueTask SaveAsync(TaskCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        cancellationToken.ThrowIfCancellationRequested();
        _checkpoints.AddOrUpdate(
            checkpoint.TaskId,
            static (_, added) => added,
            static (_, stored, added) => added.Incarnation != stored.Incarnation || added.Attempt >= stored.Attempt ? added : stored,
            checkpoint);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<TaskCheckpoint?> LoadAsync(string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<TaskCheckpoint?>(_checkpoints.GetValueOrDefault(taskId));
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        cancellationToken.ThrowIfCancellationRequested();
        _checkpoints.TryRemove(taskId, out _);
        return ValueTask.CompletedTask;
    }
}
