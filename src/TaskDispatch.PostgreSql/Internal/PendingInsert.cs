namespace TaskDispatch;

/// <summary>A task on its way into the table, with the decisions the submitter made for it: its sort key in the
/// scheduling policy's order and the node the allocation strategy chose (<see langword="null"/>: none could take it yet).
/// <see cref="IdGiven"/>: the id is the caller's (<see cref="TaskOptions.Id"/>), not one this member made up, so it may
/// be taken already.</summary>
internal sealed record PendingInsert(string Id, bool IdGiven, string Handler, string Input, string Options, double SortKey, string? Node, DateTimeOffset? ReadyAt)
{
    /// <summary>Completes with whether the row was inserted (<see langword="false"/>: a task with this id was there).</summary>
    internal TaskCompletionSource<bool> Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>An end this member writes for a task it leased, fenced by the lease's token.</summary>
internal readonly record struct Acknowledgement(string TaskId, long Token, string Node, TaskState State, string? Result, string? Error, string? ErrorType, bool DeadLetter)
{
    /// <summary>The member id of the submitter awaiting this end (from the lease), to notify once the end is accepted;
    /// <see langword="null"/> when nobody awaits it.</summary>
    internal string? Submitter { get; init; }

    /// <summary>The lease the end was written under. It stays in the member's book, renewed, until the statement that
    /// writes the end has run: an end waiting behind slow writes must not lose its lease for it.</summary>
    internal LeaseBook.Lease? Lease { get; init; }
}
