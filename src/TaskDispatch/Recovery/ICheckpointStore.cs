namespace TaskDispatch;

/// <summary>Keeps the last checkpoint of each task, by task id, so that a retried task resumes where it stopped.</summary>
/// <remarks>
/// The dispatcher uses an <see cref="InMemoryCheckpointStore"/> unless given another; a durable store keeps checkpoints
/// across process restarts. Calls come from running tasks on many threads at once, so an implementation must be
/// thread-safe. A checkpoint of an earlier attempt must never replace one of a later attempt of the same incarnation
/// (<see cref="TaskCheckpoint.Incarnation"/>): an attempt the dispatcher gave up may still be running and saving. A new
/// incarnation (the task resubmitted) replaces whatever is stored. The dispatcher deletes a task's checkpoint when the task completes or is
/// cancelled, and keeps it when the task fails, so that resubmitting it (for example from the dead letters) resumes.
/// </remarks>
public interface ICheckpointStore
{
    /// <summary>Stores <paramref name="checkpoint"/> as its task's latest, unless the stored one is from a later attempt of the same incarnation.</summary>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when the checkpoint is stored.</returns>
    ValueTask SaveAsync(TaskCheckpoint checkpoint, CancellationToken cancellationToken);

    /// <summary>Gets the latest checkpoint of a task.</summary>
    /// <param name="taskId">The task's id.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The checkpoint, or <see langword="null"/> if the task has none.</returns>
    ValueTask<TaskCheckpoint?> LoadAsync(string taskId, CancellationToken cancellationToken);

    /// <summary>Forgets the checkpoint of a task, if it has one.</summary>
    /// <param name="taskId">The task's id.</param>
    /// <param name="cancellationToken">Cancels the deletion.</param>
    /// <returns>A task that completes when the checkpoint is gone.</returns>
    ValueTask DeleteAsync(string taskId, CancellationToken cancellationToken);
}
