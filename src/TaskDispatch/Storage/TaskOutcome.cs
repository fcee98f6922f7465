namespace TaskDispatch;

/// <summary>How a task ended, as a durable store records it: its terminal state, its result as JSON or its error, the
/// attempts it took and when.</summary>
public sealed class TaskOutcome
{
    /// <summary>Gets the task's id.</summary>
    public required string TaskId { get; init; }

    /// <summary>Gets the task's arrival number: with the id, it names this submission of the task.</summary>
    public long SequenceNumber { get; init; }

    /// <summary>Gets the terminal state: <see cref="TaskState.Completed"/>, <see cref="TaskState.Failed"/> or
    /// <see cref="TaskState.Cancelled"/>.</summary>
    public required TaskState State { get; init; }

    /// <summary>Gets the result serialized as JSON, for a completed task with a result.</summary>
    public string? Result { get; init; }

    /// <summary>Gets the error's type name, for a failed task.</summary>
    public string? ErrorType { get; init; }

    /// <summary>Gets the error's message, for a failed task.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Gets every failed attempt, in order, with its error; empty when none failed.</summary>
    public IReadOnlyList<StoredAttemptFailure> Failures { get; init; } = [];

    /// <summary>Gets how many attempts the task started.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets when the task ended.</summary>
    public required DateTimeOffset EndedAt { get; init; }
}
