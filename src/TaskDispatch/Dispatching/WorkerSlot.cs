namespace TaskDispatch;

/// <summary>One worker of a node: what it runs now. Flows with the execution context into the work and whatever it starts.</summary>
internal sealed class WorkerSlot
{
    /// <summary>The running attempt's context, from its start until its worker is done with it. Work that outlives its
    /// attempt sees the next one or none, both of which are safe for the pending bound: it only matters that the named
    /// task is live when checked. The engine reads it to give up the attempts of a node that failed.</summary>
    public volatile TaskContext? Current;
}
