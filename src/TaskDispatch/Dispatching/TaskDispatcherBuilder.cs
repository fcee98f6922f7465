using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TaskDispatch;

/// <summary>Builds a <see cref="TaskDispatcher"/> without a dependency-injection container; <c>services.AddTaskDispatch()</c> uses it too.</summary>
/// <remarks>
/// Defaults: first-come-first-served scheduling, round-robin allocation, <see cref="RecoveryPolicy.Default"/> recovery
/// and one node named <see cref="TaskDispatcherDefaults.NodeName"/> with <see cref="Environment.ProcessorCount"/>
/// slots when no node is added. A builder builds one dispatcher; policies are per dispatcher and not shared.
/// </remarks>
public sealed class TaskDispatcherBuilder
{
    private readonly List<KeyValuePair<string, NodeOptions>> _nodes = [];
    private readonly List<ITaskObserver> _observers = [];
    private readonly TaskDispatcherOptions _options = new();
    private ISchedulingPolicy? _scheduling;
    private IAllocationStrategy? _allocation;
    private IRecoveryPolicy? _recovery;
    private ICheckpointStore? _checkpoints;
    private ITaskStore? _store;
    private readonly HandlerCatalog _handlers = new();
    private TimeProvider _timeProvider = TimeProvider.System;
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;
    private IServiceProvider? _services;
    private bool _built;

    /// <summary>Creates a builder for a dispatcher with the default name.</summary>
    public TaskDispatcherBuilder()
        : this(TaskDispatcherDefaults.Name)
    {
    }

    /// <summary>Creates a builder for a named dispatcher.</summary>
    /// <param name="name">The dispatcher's name.</param>
    /// <exception cref="ArgumentException">Thrown when <paramref name="name"/> is null, empty or white space.</exception>
    public TaskDispatcherBuilder(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>Gets the name of the dispatcher being built.</summary>
    public string Name { get; }

    /// <summary>Changes the dispatcher's settings.</summary>
    /// <param name="configure">Changes the settings; validated by <see cref="Build"/>.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder Configure(Action<TaskDispatcherOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ThrowIfBuilt();
        configure(_options);
        return this;
    }

    /// <summary>Sets the scheduling policy, which orders waiting tasks.</summary>
    /// <param name="policy">The policy instance, used by this dispatcher alone.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseScheduling(ISchedulingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ThrowIfBuilt();
        _scheduling = policy;
        return this;
    }

    /// <summary>Sets the allocation strategy, which picks the node for each task.</summary>
    /// <param name="strategy">The strategy instance, used by this dispatcher alone.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseAllocation(IAllocationStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ThrowIfBuilt();
        _allocation = strategy;
        return this;
    }

    /// <summary>Sets the recovery policy, which decides after a failed attempt.</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseRecovery(IRecoveryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ThrowIfBuilt();
        _recovery = policy;
        return this;
    }

    /// <summary>Sets where running tasks' checkpoints are kept; by default a new <see cref="InMemoryCheckpointStore"/>.</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseCheckpointStore(ICheckpointStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        ThrowIfBuilt();
        _checkpoints = store;
        return this;
    }

    /// <summary>Keeps the dispatcher's tasks in a durable store, so that no accepted task is lost when the process dies:
    /// a submission returns once its task is stored, and on start the dispatcher replays every task that had not ended.
    /// A store that also implements <see cref="ICheckpointStore"/> keeps the checkpoints too, unless
    /// <see cref="UseCheckpointStore"/> names another. The dispatcher owns the store: disposing it disposes the store.
    /// A stop leaves the tasks it cancels unfinished in the store, so that the next start runs them; a draining stop
    /// waits only for running attempts, since waiting tasks are safe in the store.</summary>
    /// <remarks>A durable dispatcher runs handler tasks only (<c>SubmitAsync&lt;THandler, TInput, TResult&gt;</c>), whose
    /// input and result serialize to JSON: a delegate cannot be stored. See docs/durability.md.</remarks>
    /// <param name="store">The store, for example <c>SqliteTaskStore</c> from the TaskDispatch.Sqlite package.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseStore(ITaskStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        ThrowIfBuilt();
        _store = store;
        return this;
    }

    /// <summary>Registers a handler for durable tasks under a stable name, optionally with source-generated JSON contracts
    /// for its input and result (for trimming and native AOT). Unregistered handlers are stored under their type's full
    /// name with reflection-based JSON; registering keeps stored tasks runnable when the type is renamed or moved.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <typeparam name="TInput">Its input.</typeparam>
    /// <typeparam name="TResult">Its result.</typeparam>
    /// <param name="name">The name stored with its tasks; <see langword="null"/> for the type's full name.</param>
    /// <param name="input">The input's JSON contract; <see langword="null"/> for the reflection-based default.</param>
    /// <param name="result">The result's JSON contract; <see langword="null"/> for the reflection-based default.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException">Thrown when the handler type or the name is already registered.</exception>
    public TaskDispatcherBuilder AddHandler<THandler, TInput, TResult>(string? name = null, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TInput>? input = null, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResult>? result = null)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        ThrowIfBuilt();
        _handlers.Register(HandlerCatalog.Create<THandler, TInput, TResult>(name, input, result));
        return this;
    }

    /// <summary>Adds a node.</summary>
    /// <param name="name">The node's name, unique within the dispatcher.</param>
    /// <param name="configure">Configures the node; validated at once.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">Thrown when <paramref name="name"/> is empty or already used, or the configured options are invalid.</exception>
    public TaskDispatcherBuilder AddNode(string name, Action<NodeOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfBuilt();
        if (_nodes.Exists(node => string.Equals(node.Key, name, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Dispatcher '{Name}' already has a node named '{name}'.", nameof(name));
        }

        var options = new NodeOptions();
        configure?.Invoke(options);
        options.Validate(name);
        _nodes.Add(new KeyValuePair<string, NodeOptions>(name, options));
        return this;
    }

    /// <summary>Adds an observer that hears about every task.</summary>
    /// <param name="observer">The observer.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder AddObserver(ITaskObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        ThrowIfBuilt();
        _observers.Add(observer);
        return this;
    }

    /// <summary>Adds a callback run exactly once per task when it reaches its terminal state.</summary>
    /// <param name="onCompleted">The callback; it runs on the observers' consumer, never on a submitter's thread, before the task's awaitable completes.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder OnTaskCompleted(Action<TaskHandle> onCompleted)
    {
        ArgumentNullException.ThrowIfNull(onCompleted);
        return AddObserver(new CompletionCallbackObserver(onCompleted));
    }

    /// <summary>Sets the clock for delays, timeouts and timestamps.</summary>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> by default.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ThrowIfBuilt();
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Sets where the dispatcher logs.</summary>
    /// <param name="loggerFactory">The logger factory; nothing is logged by default.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ThrowIfBuilt();
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the services that handler tasks are resolved from, in a new scope per attempt.</summary>
    /// <param name="services">The root service provider.</param>
    /// <returns>This builder.</returns>
    public TaskDispatcherBuilder UseServiceProvider(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        ThrowIfBuilt();
        _services = services;
        return this;
    }

    /// <summary>Validates the configuration and starts the dispatcher.</summary>
    /// <returns>The running dispatcher; dispose it to stop it.</returns>
    /// <exception cref="ArgumentException">Thrown when a setting is invalid; the message names it.</exception>
    /// <exception cref="InvalidOperationException">Thrown when this builder has already built a dispatcher.</exception>
    public TaskDispatcher Build()
    {
        ThrowIfBuilt();
        var options = _options.Clone();
        options.Validate();
        var nodes = _nodes.Count > 0
            ? _nodes.ToArray()
            : [new KeyValuePair<string, NodeOptions>(TaskDispatcherDefaults.NodeName, new NodeOptions())];
        var allocation = _allocation ?? AllocationStrategy.RoundRobin();
        if (allocation is WeightedRandomAllocationStrategy && Array.TrueForAll(nodes, static node => node.Value.Weight == 0))
        {
            throw new ArgumentException(
                $"Every node of dispatcher '{Name}' has weight 0, so weighted random allocation could never place a task; give at least one node a positive Weight.",
                "Nodes[*].Weight");
        }

        _built = true;
        return new TaskDispatcher(
            Name,
            options,
            _scheduling ?? SchedulingPolicy.FirstComeFirstServed(),
            allocation,
            _recovery ?? RecoveryPolicy.Default(),
            _checkpoints ?? _store as ICheckpointStore ?? new InMemoryCheckpointStore(),
            _store,
            _handlers,
            nodes,
            [.. _observers],
            _timeProvider,
            _loggerFactory,
            _services);
    }

    private void ThrowIfBuilt()
    {
        if (_built)
        {
            throw new InvalidOperationException("This builder has already built a dispatcher; create a new builder for another one.");
        }
    }

    private sealed class CompletionCallbackObserver(Action<TaskHandle> onCompleted) : ITaskObserver
    {
        public void OnStateChanged(TaskStateChange change)
        {
        }

        public void OnCompleted(TaskHandle task) => onCompleted(task);
    }
}
