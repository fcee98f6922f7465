namespace TaskDispatch;

/// <summary>The state a running task saved so that a later attempt, on this node or another, resumes instead of restarting.</summary>
public sealed class TaskCheckpoint
{
    /// <summary>Creates a checkpoint.</summary>
    /// <param name="taskId">The task it belongs to.</param>
    /// <param name="attempt">The attempt that saved it, from 1.</param>
    /// <param name="data">The saved state, in whatever encoding the task chose (JSON for the typed helpers).</param>
    /// <param name="savedAt">When it was saved.</param>
    /// <param name="incarnation">Which submission of the task id saved it (the task's <see cref="TaskHandle.SequenceNumber"/>):
    /// a resubmitted task is a new incarnation whose attempts count from 1 again.</param>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="taskId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="attempt"/> is less than 1.</exception>
    public TaskCheckpoint(string taskId, int attempt, ReadOnlyMemory<byte> data, DateTimeOffset savedAt, long incarnation = 0)
    {
        Incarnation = incarnation;
        ArgumentNullException.ThrowIfNull(taskId);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        TaskId = taskId;
        Attempt = attempt;
        Data = data;
        SavedAt = savedAt;
    }

    /// <summary>Gets the id of the task it belongs to.</summary>
    public string TaskId { get; }

    /// <summary>Gets the number of the attempt that saved it.</summary>
    public int Attempt { get; }

    /// <summary>Gets which submission of the task id saved it; attempts are ordered within one incarnation only.</summary>
    public long Incarnation { get; }

    /// <summary>Gets the saved state.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Gets when it was saved, from the dispatcher's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset SavedAt { get; }
}
