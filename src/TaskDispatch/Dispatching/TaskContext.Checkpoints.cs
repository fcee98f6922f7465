using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TaskDispatch;

public sealed partial class TaskContext
{
    /// <summary>Saves the task's progress, already encoded, so that a later attempt resumes from it; also a heartbeat.</summary>
    /// <param name="data">The state, in an encoding of the task's choosing.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when the dispatcher's <see cref="ICheckpointStore"/> holds the checkpoint.</returns>
    /// <exception cref="OperationCanceledException">Thrown when the attempt was given up or the task stopped: a later
    /// attempt owns the task's progress now.</exception>
    public async ValueTask SaveCheckpointBytesAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        Heartbeat();
        ThrowIfNotCurrent(cancellationToken);
        var store = Owner.Checkpoints;
        await store.SaveAsync(new TaskCheckpoint(TaskId, Attempt, data, TimeProvider.GetUtcNow(), _task.SequenceNumber), cancellationToken).ConfigureAwait(false);
        _task.HasCheckpoint = true;

        // A task that completed or was cancelled while this attempt was saving found no checkpoint to delete when it
        // ended; it must not leave one behind for a new task with its id. (A failed task keeps it on purpose.)
        if (_task.State is TaskState.Completed or TaskState.Cancelled)
        {
            await store.DeleteAsync(TaskId, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Saves the task's progress as JSON so that a later attempt resumes from it; also a heartbeat.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="state">The state.</param>
    /// <param name="typeInfo">How to serialize it (from a <c>JsonSerializerContext</c>, trimming- and AOT-safe).</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when the checkpoint is stored.</returns>
    /// <exception cref="OperationCanceledException">Thrown when the attempt was given up or the task stopped.</exception>
    public ValueTask SaveCheckpointAsync<T>(T state, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return SaveCheckpointBytesAsync(JsonSerializer.SerializeToUtf8Bytes(state, typeInfo), cancellationToken);
    }

    /// <summary>Saves the task's progress as JSON (with reflection) so that a later attempt resumes from it; also a heartbeat.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="state">The state.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when the checkpoint is stored.</returns>
    /// <exception cref="OperationCanceledException">Thrown when the attempt was given up or the task stopped.</exception>
    [RequiresUnreferencedCode("Serializes T with reflection; use the overload taking a JsonTypeInfo<T> when trimming.")]
    [RequiresDynamicCode("Serializes T with reflection; use the overload taking a JsonTypeInfo<T> for native AOT.")]
    public ValueTask SaveCheckpointAsync<T>(T state, CancellationToken cancellationToken = default) =>
        SaveCheckpointBytesAsync(JsonSerializer.SerializeToUtf8Bytes(state), cancellationToken);

    /// <summary>Gets the task's latest checkpoint, saved by this or an earlier attempt.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The checkpoint, or <see langword="null"/> when the task has saved none: start from the beginning.</returns>
    public ValueTask<TaskCheckpoint?> LoadCheckpointAsync(CancellationToken cancellationToken = default) =>
        Owner.Checkpoints.LoadAsync(TaskId, cancellationToken);

    /// <summary>Gets the task's latest checkpoint as JSON-encoded <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="typeInfo">How to deserialize it (from a <c>JsonSerializerContext</c>, trimming- and AOT-safe).</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The state, or <see langword="default"/> when the task has saved none.</returns>
    public async ValueTask<T?> LoadCheckpointAsync<T>(JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var checkpoint = await LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
        return checkpoint is null ? default : JsonSerializer.Deserialize(checkpoint.Data.Span, typeInfo);
    }

    /// <summary>Gets the task's latest checkpoint as JSON-encoded <typeparamref name="T"/> (with reflection).</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The state, or <see langword="default"/> when the task has saved none.</returns>
    [RequiresUnreferencedCode("Deserializes T with reflection; use the overload taking a JsonTypeInfo<T> when trimming.")]
    [RequiresDynamicCode("Deserializes T with reflection; use the overload taking a JsonTypeInfo<T> for native AOT.")]
    public async ValueTask<T?> LoadCheckpointAsync<T>(CancellationToken cancellationToken = default)
    {
        var checkpoint = await LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
        return checkpoint is null ? default : JsonSerializer.Deserialize<T>(checkpoint.Data.Span);
    }

    private void ThrowIfNotCurrent(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (IsAbandoned || _task.IsFinished)
        {
            throw new OperationCanceledException(
                $"Task '{TaskId}' attempt {Attempt} may no longer save checkpoints: it was given up or the task has ended.",
                CancellationToken);
        }
    }
}
