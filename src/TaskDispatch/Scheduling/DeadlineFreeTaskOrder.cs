namespace TaskDispatch;

/// <summary>Where <see cref="EarliestDeadlineFirstPolicy"/> puts tasks that have no <see cref="TaskOptions.Deadline"/>.</summary>
public enum DeadlineFreeTaskOrder
{
    /// <summary>After every task with a deadline.</summary>
    Last = 0,

    /// <summary>Before every task with a deadline.</summary>
    First = 1,
}
