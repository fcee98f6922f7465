namespace TaskDispatch;

/// <summary>What a submission does when the dispatcher already holds <see cref="TaskDispatcherOptions.MaxPendingTasks"/> waiting tasks.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<QueueFullMode>))]
public enum QueueFullMode
{
    /// <summary><c>SubmitAsync</c> waits asynchronously until a waiting task starts or ends (backpressure).</summary>
    Wait = 0,

    /// <summary><c>SubmitAsync</c> throws <see cref="TaskRejectedException"/> at once.</summary>
    Reject = 1,
}
