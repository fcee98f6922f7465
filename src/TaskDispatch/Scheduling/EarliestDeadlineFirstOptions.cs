namespace TaskDispatch;

/// <summary>Settings of <see cref="EarliestDeadlineFirstPolicy"/>.</summary>
/// <remarks>Whether a task whose deadline passed while it waited still runs is the dispatcher's
/// <see cref="TaskDispatcherOptions.FailExpiredDeadlines"/>.</remarks>
public sealed class EarliestDeadlineFirstOptions
{
    /// <summary>Gets or sets where tasks without a deadline go; among themselves they keep arrival order.</summary>
    /// <value>The default value is <see cref="DeadlineFreeTaskOrder.Last"/>.</value>
    public DeadlineFreeTaskOrder TasksWithoutDeadline { get; set; } = DeadlineFreeTaskOrder.Last;

    internal void Validate()
    {
        if (!Enum.IsDefined(TasksWithoutDeadline))
        {
            throw new ArgumentOutOfRangeException(nameof(TasksWithoutDeadline), TasksWithoutDeadline, $"{nameof(TasksWithoutDeadline)} is not a defined {nameof(DeadlineFreeTaskOrder)}.");
        }
    }
}
