namespace TaskDispatch;

/// <summary>Where the scheduler holds a task, so that a cancellation can take it out of the right place.</summary>
internal enum TaskLocation
{
    /// <summary>Not held by the scheduler: in the intake, on a timer, on a node or finished.</summary>
    None = 0,

    /// <summary>In the scheduling policy's queue.</summary>
    Queued = 1,

    /// <summary>Dequeued, but no node can take it now; retried when capacity changes.</summary>
    Parked = 2,
}
