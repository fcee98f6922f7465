namespace TaskDispatch;

/// <summary>One failed attempt of a task as a durable store keeps it: the exception object is gone after a restart, its
/// type name and message are kept.</summary>
/// <param name="Attempt">The attempt's number, from 1.</param>
/// <param name="NodeName">The node it ran on.</param>
/// <param name="ErrorType">The full name of the exception's type.</param>
/// <param name="ErrorMessage">The exception's message.</param>
/// <param name="FailedAt">When the failure was observed.</param>
/// <param name="IsNodeFault">Whether the node, rather than the task, was to blame.</param>
public sealed record StoredAttemptFailure(int Attempt, string NodeName, string? ErrorType, string ErrorMessage, DateTimeOffset FailedAt, bool IsNodeFault);
