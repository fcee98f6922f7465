namespace TaskDispatch;

/// <summary>The life-cycle state of a submitted task.</summary>
/// <remarks>
/// A task moves <see cref="Pending"/> → <see cref="Assigning"/> → <see cref="Running"/> and ends in exactly one of
/// <see cref="Completed"/>, <see cref="Failed"/> or <see cref="Cancelled"/>. Between attempts it is
/// <see cref="Retrying"/>, after which it is assigned again.
/// </remarks>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<TaskState>))]
public enum TaskState
{
    /// <summary>Accepted and waiting: for its start time, in the ready queue, or for a node that can run it.</summary>
    Pending = 0,

    /// <summary>Chosen by the scheduler and handed to a node, but not yet started.</summary>
    Assigning = 1,

    /// <summary>An attempt is executing on a node.</summary>
    Running = 2,

    /// <summary>An attempt failed and the recovery policy asked for another one; the task waits without holding a node slot.</summary>
    Retrying = 3,

    /// <summary>Terminal: an attempt finished successfully.</summary>
    Completed = 4,

    /// <summary>Terminal: the last attempt failed and the recovery policy gave up.</summary>
    Failed = 5,

    /// <summary>Terminal: the task was cancelled before or while it ran, or the dispatcher stopped.</summary>
    Cancelled = 6,
}
