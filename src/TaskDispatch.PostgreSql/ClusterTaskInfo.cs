namespace TaskDispatch;

/// <summary>A task as the cluster's table holds it, read by id from any member.</summary>
public sealed class ClusterTaskInfo
{
    /// <summary>Gets the task's id.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the name of the handler that runs it.</summary>
    public required string Handler { get; init; }

    /// <summary>Gets its state: <see cref="TaskState.Pending"/> while it waits, <see cref="TaskState.Running"/> while a
    /// node holds its lease, then its terminal state.</summary>
    public required TaskState State { get; init; }

    /// <summary>Gets the node it is placed on, or last ran on; <see langword="null"/> while no node could take it.</summary>
    public string? Node { get; init; }

    /// <summary>Gets how many times it was leased, across the cluster.</summary>
    public int Deliveries { get; init; }

    /// <summary>Gets how many times a dead or paused node's lease on it was taken back.</summary>
    public int Recoveries { get; init; }

    /// <summary>Gets when it was submitted.</summary>
    public required DateTimeOffset SubmittedAt { get; init; }

    /// <summary>Gets when it was first leased, if it was.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Gets when it ended, if it did.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Gets its result as JSON, when it completed.</summary>
    public string? ResultJson { get; init; }

    /// <summary>Gets the error it failed with, when it failed.</summary>
    public string? Error { get; init; }

    /// <summary>Gets the type name of that error.</summary>
    public string? ErrorType { get; init; }

    /// <summary>Gets whether it was dead-lettered: interrupted more often than
    /// <see cref="PostgreSqlClusterOptions.MaxDeliveries"/> allows.</summary>
    public bool DeadLettered { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Id} {State} on {Node ?? "no node"} after {Deliveries} delivery(ies)";
}
