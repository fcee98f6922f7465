namespace TaskDispatch;

/// <summary>Where <see cref="EarliestDeadlineFirstPolicy"/> puts tasks that have no <see cref="TaskOptions.Deadline"/>.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DeadlineFreeTaskOrder>))]
public enum DeadlineFreeTaskOrder
{
    /// <summary>After every task with a deadline.</summary>
    Last = 0,

    /// <summary>Before every task with a deadline.</summary>
    First = 1,
}
