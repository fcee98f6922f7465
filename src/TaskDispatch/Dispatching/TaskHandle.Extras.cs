using System.Diagnostics;

namespace TaskDispatch;

public abstract partial class TaskHandle
{
    /// <summary>What only some tasks need (progress, timers, a cancellable token, failures, exclusions, checkpoints,
    /// tracing), created the first time one of them is needed: most tasks never allocate it, and a task's handle stays
    /// small, which keeps many in-flight tasks cheap for the garbage collector.</summary>
    private Extras? _extras;

    /// <summary>Gets the task's side object, creating it (once, whoever asks first) if needed.</summary>
    private Extras Side => SideObject.Get(ref _extras);

    /// <summary>Gets or sets whether an attempt saved a checkpoint, which the dispatcher deletes when the task completes or is cancelled.</summary>
    /// <summary>Gets or sets whether the task was cancelled because its process is shutting down (the container could
    /// no longer make its handler), which a durable store leaves unfinished for the next start.</summary>
    internal bool StoppedForShutdown
    {
        get => Volatile.Read(ref _extras)?.StoppedForShutdown == true;
        set => Side.StoppedForShutdown = value;
    }

    internal bool HasCheckpoint
    {
        get => Volatile.Read(ref _extras)?.HasCheckpoint == true;
        set => Side.HasCheckpoint = value;
    }

    /// <summary>Gets how many attempts ended in a node fault, which moved the task to another node.</summary>
    internal int NodeFaults
    {
        get
        {
            var faults = 0;
            foreach (var failure in Volatile.Read(ref _extras) is { } extras ? Volatile.Read(ref extras.Failures) : [])
            {
                faults += failure.IsNodeFault ? 1 : 0;
            }

            return faults;
        }
    }

    /// <summary>The nodes a retry must avoid because an attempt of the task failed there with a node fault; written by
    /// the owner of the failed attempt before the retry is posted, read by scheduler steps.</summary>
    internal NodeRuntime[]? ExcludedNodes
    {
        get => Volatile.Read(ref _extras)?.ExcludedNodes;
        set
        {
            if (value is not null || Volatile.Read(ref _extras) is not null)
            {
                Side.ExcludedNodes = value;
            }
        }
    }

    /// <summary>The node a retry must run on, when the recovery policy asked for the same node; written by the owner of the
    /// failed attempt before the retry is posted, read and cleared by scheduler steps.</summary>
    internal NodeRuntime? PinnedNode
    {
        get => Volatile.Read(ref _extras)?.PinnedNode;
        set
        {
            if (value is not null || Volatile.Read(ref _extras) is not null)
            {
                Side.PinnedNode = value;
            }
        }
    }

    /// <summary>Gets or sets the task's activity when someone listens to <see cref="TaskDispatchTracing.SourceName"/>.</summary>
    internal Activity? TraceActivity
    {
        get => Volatile.Read(ref _extras)?.TraceActivity;
        set => Side.TraceActivity = value;
    }

    /// <summary>Gets or sets why the scheduler chose the current attempt's node; set only for traced tasks.</summary>
    internal string? PlacementReason
    {
        get => Volatile.Read(ref _extras)?.PlacementReason;
        set => Side.PlacementReason = value;
    }

    /// <summary>Gets the <see cref="TimeProvider"/> timestamp of the first failed attempt, or 0.</summary>
    internal long FirstFailureTimestamp => Volatile.Read(ref _extras)?.FirstFailureTimestamp ?? 0;

    /// <summary>Gets the <see cref="TimeProvider"/> timestamp of the latest failed attempt, or 0.</summary>
    internal long LastFailureTimestamp => Volatile.Read(ref _extras)?.LastFailureTimestamp ?? 0;

    /// <summary>The rarely used state of a task. Fields follow the same rules as they would on the handle.</summary>
    private sealed class Extras
    {
        public TaskProgress? Progress;
        public EventHandler<TaskProgress>? ProgressChanged;
        public CancellationTokenRegistration CancellationRegistration;
        public ITimer? ReadyTimer;
        public ITimer? OverallTimer;
        public AttemptFailure[] Failures = [];
        public bool HasCheckpoint;
        public bool StoppedForShutdown;
        public NodeRuntime[]? ExcludedNodes;
        public NodeRuntime? PinnedNode;
        public long FirstFailureTimestamp;
        public long LastFailureTimestamp;
        public Activity? TraceActivity;
        public string? PlacementReason;
        public string? KindName;
        public Exception? Exception;
        public System.Threading.Channels.Channel<TaskStateChange>[]? Watchers;
        public Task? CompletionTask;
    }
}
