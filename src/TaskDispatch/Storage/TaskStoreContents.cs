namespace TaskDispatch;

/// <summary>What a durable store holds when a dispatcher opens it: the tasks to replay, the latest ended ones, and
/// the last arrival number given, so that new tasks continue the sequence.</summary>
/// <param name="Unfinished">The tasks that had not ended, in arrival order.</param>
/// <param name="Ended">The latest ended tasks within retention, with their outcomes.</param>
/// <param name="LastSequenceNumber">The highest arrival number the store has seen.</param>
public sealed record TaskStoreContents(IReadOnlyList<StoredTask> Unfinished, IReadOnlyList<StoredTask> Ended, long LastSequenceNumber)
{
    /// <summary>Gets the contents of an empty store.</summary>
    public static TaskStoreContents Empty { get; } = new([], [], 0);
}
