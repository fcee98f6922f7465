using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The in-process dispatcher: an intake, a scheduler that consults the scheduling policy and the allocation
/// strategy one decision at a time, and node workers that run attempts under the recovery policy.</summary>
/// <remarks>
/// Build one with <see cref="TaskDispatcherBuilder"/> or <c>services.AddTaskDispatch()</c>. Every member is thread-safe.
/// The dispatcher is a façade over components that each own their state (see docs/architecture.md): the intake, the
/// task registry, the scheduler and its node placer, the attempt runner and recovery, the outcome recorder and
/// notifier, the node set, telemetry and the lifecycle.
/// </remarks>
public sealed partial class TaskDispatcher : ITaskDispatcher, IDisposable
{
    private readonly TaskRegistry _registry;
    private readonly OutcomeArchive _archive;
    private readonly TaskPersistence? _persistence;
    private readonly DurableIntake? _durable;
    private readonly NodeSet _nodes;
    private readonly NodePlacer _placer;
    private readonly AttemptRunner _runner;
    private readonly AttemptRecovery _recovery;
    private readonly OutcomeRecorder _outcomes;
    private readonly TaskNotifier _notifier;
    private readonly TaskIntake _intake;
    private readonly DispatcherLifecycle _lifecycle;
    private readonly TaskCounters _counters;
    private readonly TaskTimings _timings;
    private readonly ILogger _logger;

    internal TaskDispatcher(
        string name,
        TaskDispatcherOptions options,
        ISchedulingPolicy scheduling,
        IAllocationStrategy allocation,
        IRecoveryPolicy recovery,
        ICheckpointStore checkpoints,
        ITaskStore? store,
        HandlerCatalog handlers,
        IReadOnlyList<KeyValuePair<string, NodeOptions>> nodes,
        ITaskObserver[] observers,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IServiceProvider? services)
    {
        Name = name;
        MaxPendingTasks = options.MaxPendingTasks;
        Services = services;
        TimeProvider = timeProvider;
        Checkpoints = checkpoints;
        _logger = loggerFactory.CreateLogger<TaskDispatcher>();
        var instruments = TaskDispatchInstruments.From(services);
        _counters = new TaskCounters(name, instruments);
        _timings = new TaskTimings(name, instruments, timeProvider, options.MeasureTimings, scheduling.GetType().Name, allocation.GetType().Name);
        _registry = new TaskRegistry();
        _archive = new OutcomeArchive(options.OutcomeRetention, options.MaxRetainedOutcomes, timeProvider);
        _persistence = store is null ? null : new TaskPersistence(name, store, handlers, timeProvider, _logger);
        _notifier = new TaskNotifier(observers, timeProvider, _logger);
        _nodes = new NodeSet(name, timeProvider, options.NodeCircuitBreaker, OnBreakerChanged);
        _placer = new NodePlacer(allocation, _nodes, _timings, timeProvider, _logger);
        var slots = 0;
        foreach (var node in nodes)
        {
            slots += node.Value.MaxConcurrency;
        }

        Scheduler = new Scheduler(name, scheduling, _placer, _nodes, _registry, timeProvider, _logger, options.FailExpiredDeadlines, slots);
        _recovery = new AttemptRecovery(recovery, Scheduler, _counters, timeProvider, _logger);
        _runner = new AttemptRunner(name, Scheduler, _recovery, _timings, _counters, _persistence, services, timeProvider, _logger);
        _lifecycle = new DispatcherLifecycle(name, options, _registry, _nodes, _notifier, Scheduler, _counters, timeProvider, _logger, () => instruments.Unregister(this), _persistence is null ? null : () => _persistence.PendingEnds);
        _intake = new TaskIntake(this, options, _registry, _archive, Scheduler, _lifecycle, new TaskOptionsValidator(name, _nodes, timeProvider), _notifier, _counters, _timings, timeProvider);
        if (_persistence is not null)
        {
            _durable = _intake.Durable = new DurableIntake(this, _intake, _persistence, _archive, Scheduler, timeProvider);
        }

        DeadLetters = new DeadLetterList(this, options.DeadLetterCapacity);
        _outcomes = new OutcomeRecorder(_registry, Scheduler, _notifier, _counters, _timings, DeadLetters, _archive, _persistence, _lifecycle, checkpoints, timeProvider, _logger);

        foreach (var (nodeName, nodeOptions) in nodes)
        {
            _nodes.Add(nodeName, nodeOptions, _runner.StartWorkers);
        }

        _placer.EnsureCapacity(nodes.Count);
        if (_persistence is not null)
        {
            try
            {
                Recover(options);
            }
            catch
            {
                // A store that cannot be opened or read leaves no half-built dispatcher behind: its workers stop (what was
                // replayed stays unfinished in the store) and the store's file is released for the next try.
                _lifecycle.StopAsync(ShutdownMode.Cancel, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                _persistence.CloseAsync().AsTask().GetAwaiter().GetResult();
                throw;
            }
        }

        instruments.Register(this);
        Log.DispatcherStarted(_logger, name, nodes.Count, slots);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<NodeSnapshot> Nodes => _nodes.Snapshots;

    /// <inheritdoc />
    public long LiveTaskCount => _registry.LiveCount;

    /// <inheritdoc />
    public ICheckpointStore Checkpoints { get; }

    /// <summary>Gets where the dispatcher is in its life: running, stopping, stopped, or faulted (its engine failed).</summary>
    public DispatcherStatus Status => _lifecycle.Status;

    /// <summary>Gets what failed the dispatcher's engine when <see cref="Status"/> is <see cref="DispatcherStatus.Faulted"/>;
    /// otherwise <see langword="null"/>.</summary>
    public Exception? Fault => _lifecycle.Fault;

    /// <summary>Gets the bound on tasks accepted but not yet running (<see cref="TaskDispatcherOptions.MaxPendingTasks"/>).</summary>
    public int MaxPendingTasks { get; }

    /// <inheritdoc />
    public DeadLetterList DeadLetters { get; }

    /// <summary>Stops as the dispatcher's options say, forcing what is left when <paramref name="cancellationToken"/> is
    /// cancelled first; what a host calls when it stops.</summary>
    internal Task StopAsConfiguredAsync(CancellationToken cancellationToken) => _lifecycle.StopAsConfiguredAsync(cancellationToken);

    /// <summary>Gets the services handler tasks are resolved from, if any.</summary>
    internal IServiceProvider? Services { get; }

    /// <summary>Gets the dispatcher's clock.</summary>
    internal TimeProvider TimeProvider { get; }

    /// <summary>Gets the scheduler, for tasks whose start or retry timers fire.</summary>
    internal Scheduler Scheduler { get; }

    /// <summary>Gets how many tasks ended failed, for the dead letters' total.</summary>
    internal long FailedTaskCount => _counters.FailedTasks;

    /// <summary>Gets the number of tasks accepted and not running.</summary>
    internal long WaitingTaskCount => Math.Max(0, LiveTaskCount - _nodes.ActiveTasks());

    /// <inheritdoc />
    public ValueTask<TaskHandle> SubmitAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _intake.SubmitAction(work, options, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<TaskHandle<TResult>> SubmitAsync<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _intake.SubmitFunction(work, options, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<TaskHandle<TResult>> SubmitAsync<THandler, TInput, TResult>(TInput input, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        ThrowIfNoServices(typeof(THandler));

        return _intake.SubmitHandler<THandler, TInput, TResult>(input, options, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<TaskHandle<TResult>>> SubmitManyAsync<THandler, TInput, TResult>(IEnumerable<TInput> inputs, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (options?.Id is not null)
        {
            throw new ArgumentException("SubmitManyAsync gives every task the same options, so they must not name an Id (each task needs its own); submit tasks with ids one by one.", nameof(options));
        }

        ThrowIfNoServices(typeof(THandler));

        return _durable is not null
            ? _durable.SubmitManyAsync<THandler, TInput, TResult>(inputs, options, cancellationToken)
            : SubmitEachAsync(inputs, options, cancellationToken);

        async ValueTask<IReadOnlyList<TaskHandle<TResult>>> SubmitEachAsync(IEnumerable<TInput> inputs, TaskOptions? options, CancellationToken cancellationToken)
        {
            var handles = new List<TaskHandle<TResult>>();
            foreach (var input in inputs)
            {
                handles.Add(await _intake.SubmitHandler<THandler, TInput, TResult>(input, options, cancellationToken).ConfigureAwait(false));
            }

            return handles;
        }
    }

    /// <inheritdoc />
    public bool TrySubmit(Func<TaskContext, ValueTask> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _intake.TrySubmitAction(work, options, out handle);
    }

    /// <inheritdoc />
    public bool TrySubmit<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle<TResult>? handle)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _intake.TrySubmitFunction(work, options, out handle);
    }

    /// <inheritdoc />
    public ValueTask<TResult> RunAsync<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var submitted = _intake.SubmitFunction(work, options, cancellationToken);
        return submitted.IsCompletedSuccessfully ? submitted.Result.AsValueTask() : AwaitOutcomeAsync(submitted);

        static async ValueTask<TResult> AwaitOutcomeAsync(ValueTask<TaskHandle<TResult>> submitted) =>
            await (await submitted.ConfigureAwait(false)).AsValueTask().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask RunAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var submitted = _intake.SubmitAction(work, options, cancellationToken);
        return submitted.IsCompletedSuccessfully ? submitted.Result.AsValueTask() : AwaitOutcomeAsync(submitted);

        static async ValueTask AwaitOutcomeAsync(ValueTask<TaskHandle> submitted) =>
            await (await submitted.ConfigureAwait(false)).AsValueTask().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool Post(Func<TaskContext, ValueTask> work, TaskOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _intake.TrySubmitAction(work, options, out _);
    }

    /// <inheritdoc />
    public ValueTask PostAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var submitted = _intake.SubmitAction(work, options, cancellationToken);
        return submitted.IsCompletedSuccessfully ? default : AwaitAcceptedAsync(submitted);

        static async ValueTask AwaitAcceptedAsync(ValueTask<TaskHandle> submitted) => await submitted.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool TryGetHandle(string id, [NotNullWhen(true)] out TaskHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(id);
        return _registry.TryGet(id, out handle) || _archive.TryGet(id, out handle);
    }

    /// <inheritdoc />
    public async ValueTask<TaskHandle?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (TryGetHandle(id, out var handle))
        {
            return handle;
        }

        return _durable is null ? null : await _durable.FindRetainedEndedAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Handler tasks are resolved from the dispatcher's services; without any, say so at the call site.</summary>
    private void ThrowIfNoServices(Type handlerType)
    {
        if (!_runner.HasServices)
        {
            throw new InvalidOperationException(
                $"Dispatcher '{Name}' has no service provider to resolve {handlerType.Name} from; register it with services.AddTaskDispatch() or call TaskDispatcherBuilder.UseServiceProvider.");
        }
    }

    /// <summary>Picks up what the durable store holds: continues its arrival numbers, keeps its latest ended tasks
    /// findable (the failed ones in the dead letters), and replays the tasks that had not ended.</summary>
    private void Recover(TaskDispatcherOptions options)
    {
        var contents = _persistence!.Open(options.OutcomeRetention, options.MaxRetainedOutcomes);
        _intake.ContinueSequence(contents.LastSequenceNumber);
        // Oldest first, so that the newest are the ones the bounded archive and dead letters keep.
        foreach (var stored in contents.Ended.Reverse())
        {
            var ended = _persistence.RebuildEnded(this, stored);
            if (_archive.AddIfRetained(ended) && ended.State == TaskState.Failed)
            {
                DeadLetters.Add(ended);
            }
        }

        int waiting = 0, interrupted = 0, unresolved = 0;
        foreach (var stored in contents.Unfinished)
        {
            if (_durable!.Replay(stored, _recovery))
            {
                interrupted++;
            }
            else if (DeadLetters.TryGet(stored.Id, out _))
            {
                unresolved++;
            }
            else
            {
                waiting++;
            }
        }

        Log.StoreReplayed(_logger, Name, waiting, interrupted, unresolved);
    }

    /// <inheritdoc />
    public bool Cancel(string id) => TryGetHandle(id, out var handle) && handle.Cancel();

    /// <inheritdoc />
    public IAsyncEnumerable<TaskStateChange> WatchAsync(CancellationToken cancellationToken = default) =>
        _notifier.WatchAsync(_lifecycle.IsStopped, cancellationToken);

    /// <inheritdoc />
    public DispatcherStatistics GetStatistics()
    {
        var now = TimeProvider.GetUtcNow();
        var nodes = _nodes.GetStatistics(now);
        return new DispatcherStatistics(
            now,
            LiveTaskCount,
            _counters.TaskCounts(),
            _placer.Decisions,
            nodes,
            _counters.GetRecoveryStatistics(),
            WaitingTaskCount,
            _timings.Snapshot());
    }

    /// <summary>Gets how each current node has been used, as of <paramref name="now"/>.</summary>
    internal NodeStatistics[] GetNodeStatistics(DateTimeOffset now) => _nodes.GetStatistics(now);

    /// <inheritdoc />
    public Task StopAsync(ShutdownMode mode = ShutdownMode.Drain, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        _lifecycle.StopAsync(mode, timeout, cancellationToken);

    /// <summary>Stops as <see cref="TaskDispatcherOptions.ShutdownMode"/> and <see cref="TaskDispatcherOptions.ShutdownTimeout"/> say.</summary>
    /// <returns>A task that completes when the dispatcher has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.DisposeAsync().ConfigureAwait(false);
        if (_persistence is not null)
        {
            await _persistence.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops synchronously, for containers and callers that cannot await; prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Submits a failed task's work again under its id and options; for <see cref="DeadLetterList.ResubmitAsync"/>.</summary>
    internal ValueTask<TaskHandle> ResubmitAsync(TaskHandle failed, CancellationToken cancellationToken) => _intake.ResubmitAsync(failed, cancellationToken);

    /// <summary>Called by a task after every non-terminal transition.</summary>
    internal void OnTransition(TaskHandle task, TaskState previous, TaskState state, long version) =>
        _notifier.OnTransition(task, previous, state, version);

    /// <summary>Called once per task by the winner of its terminal transition; its awaitable completes once the
    /// observers have heard.</summary>
    internal void OnFinished(TaskHandle task, TaskState previous, TaskState terminal, long version) =>
        _outcomes.OnFinished(task, previous, terminal, version);

    /// <summary>Called by a task that stops waiting: its pending permit goes back to the bound.</summary>
    internal void ReleasePendingPermit() => _intake.ReleasePermit();

    /// <summary>Called by a task whose awaitable completed: it no longer counts as live.</summary>
    internal void ReleaseLive() => _registry.ReleaseLive();

    /// <summary>Called by a node's circuit breaker after it changed the node's health.</summary>
    private void OnBreakerChanged(NodeRuntime node, NodeHealth health)
    {
        Log.NodeHealthChangedByBreaker(_logger, node.Name, health);
        if (health == NodeHealth.Quarantined)
        {
            _counters.CountQuarantine(node.Name);
        }

        Scheduler.PostNodesChanged();
    }
}
