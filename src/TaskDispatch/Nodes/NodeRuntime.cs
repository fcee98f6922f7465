using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>A node as the engine runs it: its snapshot (owned by the scheduler), its hand-off channel and its workers.</summary>
internal sealed class NodeRuntime
{
    internal NodeRuntime(string name, int index, NodeOptions options)
    {
        State = new NodeState(name, index, options) { Runtime = this };
        Executor = options.Executor;

        // Only scheduler steps write, and they never overlap; the node's workers are the readers.
        Queue = Channel.CreateUnbounded<TaskHandle>(new UnboundedChannelOptions
        {
            SingleWriter = true,
            SingleReader = options.MaxConcurrency == 1,
            AllowSynchronousContinuations = false,
        });
    }

    internal NodeState State { get; }

    internal string Name => State.Name;

    /// <summary>How the node runs attempts; <see langword="null"/> for in-process.</summary>
    internal INodeExecutor? Executor { get; }

    /// <summary>Tasks handed to the node; never more than its free slots at the time of writing.</summary>
    internal Channel<TaskHandle> Queue { get; }

    internal Task[] Workers { get; set; } = [];

    /// <summary>The workers' slots, one per unit of concurrency, naming the attempts that run now.</summary>
    internal WorkerSlot[] Slots { get; set; } = [];

    /// <summary>Gets when the node was added, on the dispatcher's clock; utilisation counts from here.</summary>
    internal DateTimeOffset AddedAt { get; init; }

    /// <summary>Attempts started on the node: the sum over its workers.</summary>
    internal long AttemptsStarted => SumOverSlots(static slot => slot.AttemptsStarted);

    /// <summary>Slot-time spent running attempts, in ticks: the sum over the node's workers.</summary>
    internal long BusyTicks => SumOverSlots(static slot => slot.BusyTicks);

    private long SumOverSlots(Func<WorkerSlot, long> count)
    {
        long sum = 0;
        foreach (var slot in Slots)
        {
            sum += count(slot);
        }

        return sum;
    }

    /// <summary>Completed by a scheduler step once the node, draining, has no task left; replaced when it drains again.</summary>
    internal TaskCompletionSource Drained { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Arms a fresh drain signal if the last one already fired, so that a second drain waits for its own tasks.</summary>
    internal void RearmDrainSignal()
    {
        if (Drained.Task.IsCompleted)
        {
            Drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private int _requestedHealth;

    /// <summary>The health the node should have, as last set by hand or by its circuit breaker (under the node's lock).
    /// Scheduler steps apply it to <see cref="NodeSnapshot.Health"/>, so a step always decides on one consistent view.</summary>
    internal NodeHealth RequestedHealth
    {
        get => (NodeHealth)Volatile.Read(ref _requestedHealth);
        set => Volatile.Write(ref _requestedHealth, (int)value);
    }

    /// <summary>The node's circuit breaker, when the dispatcher has one.</summary>
    internal NodeCircuitBreaker? Breaker { get; set; }

    /// <summary>Whether the node has been taken out of the dispatcher.</summary>
    internal bool Removed { get; set; }

    /// <summary>Tells whether the node can take the task now: a free slot, plus its placement constraints.</summary>
    internal bool CanRunNow(TaskHandle task, bool constrained)
    {
        if (State.OfferedSlots <= 0)
        {
            return false;
        }

        if (!constrained)
        {
            return true;
        }

        return State.CanEverRun(task.Options) && State.FitsNow(task.Options.PositiveDemand);
    }
}
