namespace TaskDispatch;

/// <summary>A task as a durable store keeps it: what to run (a handler name and a JSON input), how (its options as
/// JSON, with the keys a store may index), when it arrived, and, when read back, how far it got.</summary>
public sealed class StoredTask
{
    /// <summary>Gets the task's id: the caller's, or a generated one.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the dispatcher-wide arrival number; replayed tasks keep it, so FCFS keeps their order.</summary>
    public required long SequenceNumber { get; init; }

    /// <summary>Gets the name under which the handler was registered (by default its type's full name).</summary>
    public required string Handler { get; init; }

    /// <summary>Gets the handler's input, serialized as JSON.</summary>
    public required string Input { get; init; }

    /// <summary>Gets the task's options that survive a restart, serialized as JSON by the dispatcher.</summary>
    public required string Options { get; init; }

    /// <summary>Gets the task's priority (higher runs first under priority scheduling), for stores that index it.</summary>
    public int Priority { get; init; }

    /// <summary>Gets the task's deadline, if any, for stores that index it.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Gets whether the id was given by the caller (an idempotency key) rather than generated.</summary>
    public bool HasCallerId { get; init; }

    /// <summary>Gets when the task was submitted.</summary>
    public required DateTimeOffset SubmittedAt { get; init; }

    /// <summary>Gets when the task may first start (after its delay or <see cref="TaskOptions.NotBefore"/>).</summary>
    public required DateTimeOffset ReadyAt { get; init; }

    /// <summary>Gets how many attempts had started when the task was read back; 0 when written.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets how many of its started attempts had concluded when a stop left the task unfinished, when read
    /// back; an attempt started beyond these was interrupted by the process's end.</summary>
    public int ConcludedAttempts { get; init; }

    /// <summary>Gets the node of the last attempt that started, when read back.</summary>
    public string? LastNode { get; init; }

    /// <summary>Gets when the first attempt started, when read back.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Gets the failed attempts recorded when the task was read back (before its last started attempt).</summary>
    public IReadOnlyList<StoredAttemptFailure> Failures { get; init; } = [];

    /// <summary>Gets the task's outcome when it had ended; <see langword="null"/> while it had not.</summary>
    public TaskOutcome? Outcome { get; init; }
}
