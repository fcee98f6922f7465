using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The in-process dispatcher: an intake channel, a scheduler that consults the scheduling policy and the
/// allocation strategy one decision at a time, and node workers that run attempts under the recovery policy.</summary>
/// <remarks>Build one with <see cref="TaskDispatcherBuilder"/> or <c>services.AddTaskDispatch()</c>. Every member is thread-safe.</remarks>
public sealed partial class TaskDispatcher : ITaskDispatcher, IDisposable
{
    private const int Running = 0;
    private const int Draining = 1;
    private const int Cancelling = 2;
    private const int Stopped = 3;

    /// <summary>The slot of the worker on this logical flow. Set once per worker, so that an attempt changes no execution
    /// context; the slot names the attempt it runs, so that a task's own submissions skip the pending bound.</summary>
    private static readonly AsyncLocal<WorkerSlot?> s_workerSlot = new();

    private readonly TaskDispatcherOptions _options;
    private readonly ISchedulingPolicy _scheduling;
    private readonly string _schedulingName;
    private readonly string _allocationName;
    private readonly IAllocationStrategy _allocation;
    private readonly IRecoveryPolicy _recovery;
    private readonly Action<NodeRuntime, NodeHealth> _onBreakerChanged;
    /// <summary>Serialises adding and removing nodes (rare); readers take the current arrays without it.</summary>
    private readonly Lock _nodesLock = new();

    /// <summary>The live nodes, copy-on-write under <see cref="_nodesLock"/>.</summary>
    private volatile NodeRuntime[] _nodes;

    /// <summary>Their snapshots, in the same order, copy-on-write with <see cref="_nodes"/>.</summary>
    private volatile NodeSnapshot[] _nodeSnapshots;

    /// <summary>The index the next added node gets; indexes are never reused.</summary>
    private int _nextNodeIndex;
    private readonly TaskNotifier _notifier;
    private readonly ILogger _logger;
    private readonly IServiceProvider? _services;
    private readonly IServiceScopeFactory? _scopeFactory;

    /// <summary>Every live task by id: idempotent submission, lookup and cancellation by id, and forced shutdown.</summary>
    private readonly ConcurrentDictionary<string, TaskHandle> _tasks = new(StringComparer.Ordinal);

    /// <summary>Counts tasks accepted but not yet running against <see cref="TaskDispatcherOptions.MaxPendingTasks"/>.</summary>
    private readonly PendingLimiter _pendingPermits;

    /// <summary>The scheduler's intake: ready tasks, freed slots and removals, drained by whoever runs the next step.
    /// Steps never overlap, which is what <see cref="ChannelOptions.SingleReader"/> asks of readers.</summary>
    private readonly Channel<SchedulerEvent> _events = Channel.CreateUnbounded<SchedulerEvent>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = false,
    });

    /// <summary>Cancelled when the dispatcher starts stopping, to release submitters waiting for room.</summary>
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Completed when no task is live after stopping began.</summary>
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly Lock _stopLock = new();

    private long _sequence;

    /// <summary>Tasks accepted and not finished, plus submissions in flight: reaching 0 after stopping began means drained.</summary>
    private long _liveCount;

    private int _stopState;
    private int _disposed;
    private Task? _stopTask;
    private Exception? _fault;

    internal TaskDispatcher(
        string name,
        TaskDispatcherOptions options,
        ISchedulingPolicy scheduling,
        IAllocationStrategy allocation,
        IRecoveryPolicy recovery,
        ICheckpointStore checkpoints,
        IReadOnlyList<KeyValuePair<string, NodeOptions>> nodes,
        ITaskObserver[] observers,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IServiceProvider? services)
    {
        Name = name;
        _options = options;
        _scheduling = scheduling;
        _schedulingName = scheduling.GetType().Name;
        _allocationName = allocation.GetType().Name;
        _allocation = allocation;
        _recovery = recovery;
        _onBreakerChanged = OnBreakerChanged;
        Checkpoints = checkpoints;
        TimeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<TaskDispatcher>();
        _notifier = new TaskNotifier(observers, timeProvider, _logger);
        _services = services;
        _scopeFactory = services?.GetService<IServiceScopeFactory>();
        _pendingPermits = new PendingLimiter(options.MaxPendingTasks);
        DeadLetters = new DeadLetterList(this, options.DeadLetterCapacity);

        var runtimes = new NodeRuntime[nodes.Count];
        var snapshots = new NodeSnapshot[nodes.Count];
        _candidates = new NodeSnapshot[nodes.Count];
        var slots = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            runtimes[i] = CreateNode(nodes[i].Key, i, nodes[i].Value);
            snapshots[i] = runtimes[i].Snapshot;
            slots += nodes[i].Value.MaxConcurrency;
        }

        _nodes = runtimes;
        _nodeSnapshots = snapshots;
        _nextNodeIndex = nodes.Count;
        _freeSlots = slots;

        foreach (var node in runtimes)
        {
            StartWorkers(node);
        }

        TaskDispatchMetrics.Register(this);
        Log.DispatcherStarted(_logger, name, runtimes.Length, slots);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<NodeSnapshot> Nodes => _nodeSnapshots;

    /// <inheritdoc />
    public long LiveTaskCount => Math.Max(0, Interlocked.Read(ref _liveCount));

    /// <inheritdoc />
    public ICheckpointStore Checkpoints { get; }

    /// <inheritdoc />
    public DeadLetterList DeadLetters { get; }

    /// <summary>Gets the dispatcher's clock.</summary>
    internal TimeProvider TimeProvider { get; }

    /// <inheritdoc />
    public bool TryGetHandle(string id, [NotNullWhen(true)] out TaskHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(id);
        return _tasks.TryGetValue(id, out handle);
    }

    /// <inheritdoc />
    public bool Cancel(string id) => TryGetHandle(id, out var handle) && handle.Cancel();

    /// <inheritdoc />
    public IAsyncEnumerable<TaskStateChange> WatchAsync(CancellationToken cancellationToken = default) =>
        _notifier.WatchAsync(Volatile.Read(ref _stopState) == Stopped, cancellationToken);

    /// <summary>Called after every non-terminal transition.</summary>
    internal void OnTransition(TaskHandle task, TaskState previous, TaskState state, long version) =>
        _notifier.OnTransition(task, previous, state, version);

    /// <summary>Called once per task by the winner of its terminal transition; its awaitable completes once the
    /// observers have heard.</summary>
    internal void OnFinished(TaskHandle task, TaskState previous, TaskState terminal, long version)
    {
        _tasks.TryRemove(new KeyValuePair<string, TaskHandle>(task.Id, task));
        if (previous is TaskState.Pending or TaskState.Retrying)
        {
            // It may sit in the ready queue: let the scheduler drop it now rather than when it reaches the head.
            Post(SchedulerEvent.Removed(task));
        }

        CountFinished(terminal);
        MeasureFinished(task, terminal);
        TraceFinished(task, terminal);
        if (terminal == TaskState.Failed)
        {
            DeadLetters.Add(task);
        }

        if (task.HasCheckpoint && terminal != TaskState.Failed)
        {
            // A failed task keeps its checkpoint, so that resubmitting it resumes; otherwise its progress is of no more use.
            _ = DeleteCheckpointAsync(task.Id);
        }

        _notifier.OnFinished(task, previous, terminal, version);
    }

    internal void ReleasePendingPermit() => _pendingPermits.Release();

    private async Task DeleteCheckpointAsync(string taskId)
    {
        try
        {
            await Checkpoints.DeleteAsync(taskId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Log.CheckpointDeleteFailed(_logger, taskId, exception);
        }
    }

    /// <summary>Stops counting a task (or a rejected submission) as live; signals the drain when the last one goes.</summary>
    internal void ReleaseLive()
    {
        if (Interlocked.Decrement(ref _liveCount) == 0 && Volatile.Read(ref _stopState) != Running)
        {
            _drained.TrySetResult();
        }
    }
}
