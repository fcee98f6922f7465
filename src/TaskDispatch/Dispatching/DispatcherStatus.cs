namespace TaskDispatch;

/// <summary>Where a dispatcher is in its life, as <see cref="TaskDispatcher.Status"/> reports it.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DispatcherStatus>))]
public enum DispatcherStatus
{
    /// <summary>It accepts and runs tasks.</summary>
    Running,

    /// <summary>A stop has begun: it accepts no new tasks (except follow-ups from its own running tasks while it drains).</summary>
    Stopping,

    /// <summary>It has stopped; every task it accepted has ended.</summary>
    Stopped,

    /// <summary>Its engine failed: every live task was failed with the cause, and it accepts nothing more.</summary>
    Faulted,
}
