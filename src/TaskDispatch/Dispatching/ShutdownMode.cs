namespace TaskDispatch;

/// <summary>How a dispatcher stops.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ShutdownMode>))]
public enum ShutdownMode
{
    /// <summary>Run every accepted task to its end (retries included), then stop. Tasks still live at the deadline are cancelled.</summary>
    Drain = 0,

    /// <summary>Cancel every accepted task at once: waiting tasks end <see cref="TaskState.Cancelled"/> and running ones see their token cancelled.</summary>
    Cancel = 1,
}
