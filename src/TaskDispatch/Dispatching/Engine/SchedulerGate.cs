using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>The scheduler's intake and the gate that keeps its steps from overlapping: events (freed slots, removals,
/// node changes) in a channel, ready tasks in an intrusive list, and a flag taken by compare-and-swap. Decides when and
/// on which thread a step runs: the poster's, when no step is running; the running step's next round otherwise; the
/// thread pool when posters keep one caller busy too long.</summary>
internal sealed class SchedulerGate(ISchedulerStep step, SlotLedger slots)
{
    /// <summary>Steps one caller runs back to back before it hands the remaining work to the thread pool.</summary>
    private const int MaxInlineRounds = 8;

    private readonly ISchedulerStep _step = step;
    private readonly SlotLedger _slots = slots;

    /// <summary>The event intake: drained by whoever runs the next step. Steps never overlap, which is what
    /// <see cref="ChannelOptions.SingleReader"/> asks of readers.</summary>
    private readonly Channel<SchedulerEvent> _events = Channel.CreateUnbounded<SchedulerEvent>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = false,
    });

    /// <summary>Ready tasks not yet taken by a step.</summary>
    private readonly ReadyIntake _ready = new();

    /// <summary>1 while a thread runs a scheduler step.</summary>
    private int _stepping;

    /// <summary>The managed id of the thread running a step, or 0; so that code called from a step never waits for one.</summary>
    private int _stepThread;

    /// <summary>Events posted and not yet taken by a step.</summary>
    private int _queuedEvents;

    /// <summary>Gets whether a step is running now.</summary>
    internal bool IsStepping => Volatile.Read(ref _stepping) != 0;

    /// <summary>Gets whether the calling thread is running the current step.</summary>
    internal bool IsOnStepThread => Volatile.Read(ref _stepThread) == Environment.CurrentManagedThreadId;

    /// <summary>Takes the next queued event; only the running step calls it.</summary>
    internal bool TryReadEvent(out SchedulerEvent item)
    {
        if (!_events.Reader.TryRead(out item))
        {
            return false;
        }

        Interlocked.Decrement(ref _queuedEvents);
        return true;
    }

    /// <summary>Takes the oldest ready task; only the running step calls it.</summary>
    internal bool TryTakeReady([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskHandle? task) => _ready.TryTake(out task);

    /// <summary>Readies a task: hands it to a step run here when a slot is free and no step runs, else leaves it in the
    /// ready intake for the running step or the next one.</summary>
    internal void PostReady(TaskHandle task)
    {
        if (_slots.HasFreeSlots && Interlocked.CompareExchange(ref _stepping, 1, 0) == 0)
        {
            RunHeldStep(SchedulerEvent.Ready(task));
            return;
        }

        // The push is a full fence. A ready task with no free slot anywhere need not be scheduled now: the worker that
        // frees the next slot runs a step, which takes the intake in one batch; that step frees the slot, lets go of the
        // step with a full fence and then reads the intake, while we pushed before reading the free slots.
        if (!_ready.Push(task) || !_slots.HasFreeSlots)
        {
            return;
        }

        RunSteps();
    }

    /// <summary>Queues an event and runs a scheduler step unless another thread is running one.</summary>
    /// <remarks>
    /// The scheduler is a step, not a thread: whoever posts an event (a submitter, a worker that freed a slot, a timer, a
    /// canceller) runs the step if no one else is, and a step drains every queued event. A worker that frees its slot thus
    /// hands itself the next task without any thread wake-up. Steps never overlap, so the policy and the strategy are
    /// still called by one thread at a time and need no locks.
    /// </remarks>
    internal void Post(in SchedulerEvent item)
    {
        // Ready tasks come through PostReady and the ready list, never here.
        System.Diagnostics.Debug.Assert(item.Kind != SchedulerEventKind.Ready, "Ready tasks are posted with PostReady.");

        // The direct path: when no step runs, the poster runs one and hands it the event without queueing it, which
        // saves a channel write and read per freed slot.
        if (Interlocked.CompareExchange(ref _stepping, 1, 0) == 0)
        {
            RunHeldStep(item);
            return;
        }

        _events.Writer.TryWrite(item);

        // Counted after the write: a step that sees the count sees the event. Peeking the channel instead would make
        // a second, concurrent reader, which a single-reader channel forbids.
        Interlocked.Increment(ref _queuedEvents);
        RunSteps();
    }

    /// <summary>Runs a step that this thread already holds, handling <paramref name="direct"/> after the queued events
    /// (which were posted before it), then lets go and runs further steps if events arrived meanwhile.</summary>
    private void RunHeldStep(in SchedulerEvent direct)
    {
        RunStepAndLetGo(direct, hasDirect: true);
        if (HasQueuedWork)
        {
            RunSteps();
        }
    }

    /// <summary>Runs one step on this thread, which holds the flag, and lets go of it.</summary>
    private void RunStepAndLetGo(in SchedulerEvent direct, bool hasDirect)
    {
        Volatile.Write(ref _stepThread, Environment.CurrentManagedThreadId);
        try
        {
            _step.RunStep(direct, hasDirect);
        }
        finally
        {
            Volatile.Write(ref _stepThread, 0);

            // A full fence: the caller's emptiness check must not be read before the flag is visibly released.
            Interlocked.Exchange(ref _stepping, 0);
        }
    }

    /// <summary>Gets whether events or ready tasks wait for a step.</summary>
    internal bool HasQueuedWork => Volatile.Read(ref _queuedEvents) != 0 || !_ready.IsEmpty;

    /// <summary>Runs steps while events wait, unless another thread is running one.</summary>
    internal void RunSteps()
    {
        for (var round = 0; ; round++)
        {
            if (Interlocked.CompareExchange(ref _stepping, 1, 0) != 0)
            {
                // The running step will see our event: it checks the queue again after it lets go.
                return;
            }

            RunStepAndLetGo(default, hasDirect: false);

            if (!HasQueuedWork)
            {
                return;
            }

            if (round >= MaxInlineRounds)
            {
                // Posters keep arriving: hand the rest to the thread pool rather than hold this caller any longer.
                ThreadPool.UnsafeQueueUserWorkItem(static gate => gate.RunSteps(), this, preferLocal: false);
                return;
            }
        }
    }

}
