using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>A node as the engine runs it: its snapshot (owned by the scheduler), its hand-off channel and its workers.</summary>
internal sealed class NodeRuntime
{
    internal NodeRuntime(string name, int index, NodeOptions options)
    {
        Snapshot = new NodeSnapshot(name, index, options) { Runtime = this };

        // Only scheduler steps write, and they never overlap; the node's workers are the readers.
        Queue = Channel.CreateUnbounded<TaskHandle>(new UnboundedChannelOptions
        {
            SingleWriter = true,
            SingleReader = options.MaxConcurrency == 1,
            AllowSynchronousContinuations = false,
        });
    }

    internal NodeSnapshot Snapshot { get; }

    internal string Name => Snapshot.Name;

    /// <summary>Tasks handed to the node; never more than its free slots at the time of writing.</summary>
    internal Channel<TaskHandle> Queue { get; }

    internal Task[] Workers { get; set; } = [];

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

    /// <summary>Whether the node has been taken out of the dispatcher.</summary>
    internal bool Removed { get; set; }

    /// <summary>Tells whether the node can take the task now: a free slot, plus its placement constraints.</summary>
    internal bool CanRunNow(TaskHandle task)
    {
        if (Snapshot.FreeSlots <= 0 || !Snapshot.IsAcceptingWork)
        {
            return false;
        }

        if (!task.HasPlacementConstraints)
        {
            return true;
        }

        return Snapshot.CanEverRun(task.Options) && (task.Options.ResourceDemand is not { } demand || Snapshot.FitsNow(demand));
    }
}
