namespace TaskDispatch;

/// <summary>The waiting tasks of one kind whose duration shortest-job-first learns: they all share the kind's current
/// estimate, so among themselves they go by sequence number (a retried task keeps its place).</summary>
internal sealed class KindQueue(object kind)
{
    /// <summary>Gets the kind (<see cref="TaskHandle.KindKey"/>).</summary>
    internal object Kind { get; } = kind;

    /// <summary>Gets the kind's waiting tasks by sequence number.</summary>
    internal TaskHeap<long, SequenceOrder> Tasks { get; } = new();

    /// <summary>Gets or sets the version of this queue's entry in the policy's order of kinds: only the entry carrying
    /// the current version is live.</summary>
    internal int Version { get; set; }
}
