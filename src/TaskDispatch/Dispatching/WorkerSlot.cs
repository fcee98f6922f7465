namespace TaskDispatch;

/// <summary>One worker of a node: what it runs now. Flows with the execution context into the work and whatever it starts.</summary>
internal sealed class WorkerSlot
{
    /// <summary>The running attempt's context, from its start until its worker is done with it. Work that outlives its
    /// attempt sees the next one or none, both of which are safe for the pending bound: it only matters that the named
    /// task is live when checked. The engine reads it to give up the attempts of a node that failed.</summary>
    public volatile TaskContext? Current;

    /// <summary>Attempts this worker started. Kept per worker, written by it alone, so that workers of one node do not
    /// bounce a shared counter between cores on every task.</summary>
    private long _attemptsStarted;

    /// <summary>Slot-time this worker spent running attempts, in ticks; written by it alone.</summary>
    private long _busyTicks;

    /// <summary>Gets the attempts this worker started; read from any thread.</summary>
    internal long AttemptsStarted => Volatile.Read(ref _attemptsStarted);

    /// <summary>Gets the ticks this worker spent running attempts; read from any thread.</summary>
    internal long BusyTicks => Volatile.Read(ref _busyTicks);

    /// <summary>Counts an attempt starting; called by this slot's worker only.</summary>
    internal void RecordStart() => Volatile.Write(ref _attemptsStarted, _attemptsStarted + 1);

    /// <summary>Adds a finished attempt's slot-time; called by this slot's worker only.</summary>
    internal void RecordBusy(TimeSpan processingTime) => Volatile.Write(ref _busyTicks, _busyTicks + Math.Max(0, processingTime.Ticks));
}
