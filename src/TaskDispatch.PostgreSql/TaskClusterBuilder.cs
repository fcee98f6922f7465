using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace TaskDispatch;

/// <summary>Configures one process's membership of a cluster: the PostgreSQL store, this process's nodes, the policies
/// (the same in every member), and the handlers (registered by the same names in every member).</summary>
/// <example>
/// <code>
/// await using var cluster = await new TaskClusterBuilder("orders")
///     .UsePostgreSqlStore(connectionString)
///     .AddNode("worker-1", node => node.WithConcurrency(8).WithWeight(3))
///     .UseAllocation(AllocationStrategy.WeightedRandom())
///     .AddHandler&lt;ResizeImage, ResizeRequest, ResizeResult&gt;("resize")
///     .BuildAsync();
/// var handle = await cluster.SubmitAsync&lt;ResizeImage, ResizeRequest, ResizeResult&gt;(request);
/// var result = await handle;
/// </code>
/// </example>
public sealed class TaskClusterBuilder
{
    private readonly string _name;
    private readonly List<(string Name, NodeOptions Options)> _nodes = [];
    private readonly List<ClusterHandler> _handlers = [];
    private readonly PostgreSqlClusterOptions _options = new();
    private readonly List<Action<TaskDispatcherOptions>> _configureLocal = [];
    private NpgsqlDataSource? _dataSource;
    private string? _connectionString;
    private ISchedulingPolicy? _scheduling;
    private IAllocationStrategy? _allocation;
    private IRecoveryPolicy? _recovery;
    private IServiceProvider? _services;
    private ILoggerFactory? _loggerFactory;
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Initializes a builder for the cluster named <paramref name="name"/>: every process that builds a member
    /// with this name (and schema) on the same database joins the same cluster.</summary>
    /// <param name="name">The cluster's name.</param>
    public TaskClusterBuilder(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _name = name;
    }

    /// <summary>Uses the PostgreSQL database at <paramref name="connectionString"/>; the member owns the connections.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Changes to <see cref="PostgreSqlClusterOptions"/>.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UsePostgreSqlStore(string connectionString, Action<PostgreSqlClusterOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _ = new NpgsqlConnectionStringBuilder(connectionString);
        _connectionString = connectionString;
        _dataSource = null;
        configure?.Invoke(_options);
        return this;
    }

    /// <summary>Uses a data source the application owns (and disposes after the member).</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="configure">Changes to <see cref="PostgreSqlClusterOptions"/>.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UsePostgreSqlStore(NpgsqlDataSource dataSource, Action<PostgreSqlClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _connectionString = null;
        configure?.Invoke(_options);
        return this;
    }

    /// <summary>Adds a node run by this process. Its name must be unique across the cluster. A member without nodes only
    /// submits, looks up and cancels.</summary>
    /// <param name="name">The node's name.</param>
    /// <param name="configure">Its slots, weight, tags and resources.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder AddNode(string name, Action<NodeOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_nodes.Exists(node => node.Name == name))
        {
            throw new ArgumentException($"A node named '{name}' was already added.", nameof(name));
        }

        var options = new NodeOptions();
        configure?.Invoke(options);
        if (options.Executor is not null)
        {
            throw new ArgumentException($"Node '{name}': a cluster node runs its tasks in this process; a custom executor is not supported.", nameof(configure));
        }

        options.Validate(name);
        _nodes.Add((name, options));
        return this;
    }

    /// <summary>Sets the scheduling policy. FCFS, priority, SJF and EDF order the table itself (an indexed sort key) and
    /// weighted fair share orders it per key; any other policy orders what each node has leased.</summary>
    /// <param name="policy">The policy; the same kind in every member.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UseScheduling(ISchedulingPolicy policy)
    {
        _scheduling = policy ?? throw new ArgumentNullException(nameof(policy));
        return this;
    }

    /// <summary>Sets the allocation strategy, which places each task on one of the cluster's live nodes.</summary>
    /// <param name="strategy">The strategy.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UseAllocation(IAllocationStrategy strategy)
    {
        _allocation = strategy ?? throw new ArgumentNullException(nameof(strategy));
        return this;
    }

    /// <summary>Sets the recovery policy for attempts that fail on a node (an exception); a node's death is handled by the
    /// cluster (the task is placed again, and dead-lettered after <see cref="PostgreSqlClusterOptions.MaxDeliveries"/>).</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UseRecovery(IRecoveryPolicy policy)
    {
        _recovery = policy ?? throw new ArgumentNullException(nameof(policy));
        return this;
    }

    /// <summary>Registers a handler by a stable name, with its input and result contracts. Every member registers the
    /// same handlers by the same names.</summary>
    /// <typeparam name="THandler">The handler; resolved from the services, or constructed with them.</typeparam>
    /// <typeparam name="TInput">Its input.</typeparam>
    /// <typeparam name="TResult">Its result.</typeparam>
    /// <param name="name">The stable name stored with each task; the handler type's full name when omitted.</param>
    /// <param name="input">The input's JSON contract (source-generated for trimming); reflection when omitted.</param>
    /// <param name="result">The result's JSON contract.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder AddHandler<THandler, TInput, TResult>(string? name = null, JsonTypeInfo<TInput>? input = null, JsonTypeInfo<TResult>? result = null)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        var handler = ClusterHandler<THandler, TInput, TResult>.Create(name, input, result);
        if (_handlers.Exists(existing => existing.Name == handler.Name || existing.HandlerType == handler.HandlerType))
        {
            throw new ArgumentException($"Handler '{handler.Name}' ({typeof(THandler).Name}) was already added.", nameof(name));
        }

        _handlers.Add(handler);
        return this;
    }

    /// <summary>Sets the services handlers are resolved from (a scope per attempt).</summary>
    /// <param name="services">The service provider.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UseServiceProvider(IServiceProvider services)
    {
        _services = services ?? throw new ArgumentNullException(nameof(services));
        return this;
    }

    /// <summary>Sets the logger factory.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        return this;
    }

    /// <summary>Sets the time provider of this member's timers. Leases are timed by the database server's clock.</summary>
    /// <param name="timeProvider">The time provider.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        return this;
    }

    /// <summary>Configures this member's own dispatcher (timeouts, retries, metrics), which runs what its nodes leased.</summary>
    /// <param name="configure">Changes to its options.</param>
    /// <returns>This builder.</returns>
    public TaskClusterBuilder ConfigureLocal(Action<TaskDispatcherOptions> configure)
    {
        _configureLocal.Add(configure ?? throw new ArgumentNullException(nameof(configure)));
        return this;
    }

    /// <summary>Creates or migrates the schema, joins the cluster and starts leasing.</summary>
    /// <param name="cancellationToken">Cancels joining.</param>
    /// <returns>The member.</returns>
    public async Task<TaskCluster> BuildAsync(CancellationToken cancellationToken = default)
    {
        if (_dataSource is null && _connectionString is null)
        {
            throw new InvalidOperationException($"Cluster '{_name}' has no store: call UsePostgreSqlStore(connectionString or dataSource) before BuildAsync.");
        }

        _options.Validate();
        if (_nodes.Count > 0 && _handlers.Count == 0)
        {
            throw new InvalidOperationException($"Cluster '{_name}': this member runs nodes but registers no handler; call AddHandler for every handler the cluster runs.");
        }

        var ownsDataSource = _dataSource is null;
        var dataSource = _dataSource ?? NpgsqlDataSource.Create(_connectionString!);
        try
        {
            await ClusterSchema.MigrateAsync(dataSource, _options.Schema, cancellationToken).ConfigureAwait(false);
            var sql = new ClusterSql(_options.Schema, _name);
            var leases = new LeaseBook();
            var metrics = new ClusterMetrics(_name);
            var scheduling = _scheduling ?? SchedulingPolicy.FirstComeFirstServed();
            var local = new TaskDispatcherBuilder(_name)
                .UseScheduling(scheduling)
                .UseRecovery(_recovery ?? RecoveryPolicy.Default())
                .UseCheckpointStore(new FencedCheckpointStore(dataSource, sql, _name, leases, metrics))
                .UseTimeProvider(_timeProvider)
                .UseLoggerFactory(_loggerFactory ?? NullLoggerFactory.Instance)
                .UseServiceProvider(_services ?? EmptyServices.Instance)
                .Configure(options =>
                {
                    foreach (var configure in _configureLocal)
                    {
                        configure(options);
                    }

                    // The store keeps outcomes; a task leased here again later must run again, not find its last run.
                    options.OutcomeRetention = TimeSpan.Zero;
                    options.MaxRetainedOutcomes = 0;
                    options.MaxPendingTasks = Math.Max(options.MaxPendingTasks, _nodes.Sum(node => node.Options.MaxConcurrency * 2) + 1);
                });
            foreach (var (name, options) in _nodes)
            {
                local.AddNode(name, node =>
                {
                    node.WithConcurrency(options.MaxConcurrency).WithWeight(options.Weight).WithTags([.. options.Tags]);
                    foreach (var (resource, capacity) in options.Resources)
                    {
                        node.WithResource(resource, capacity);
                    }
                });
            }

            var cluster = new TaskCluster(
                _name, dataSource, ownsDataSource, _options, sql, leases, metrics, local.Build(), _nodes, scheduling,
                _allocation ?? AllocationStrategy.RoundRobin(), _handlers, _timeProvider,
                (_loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TaskDispatch.PostgreSql.TaskCluster"));
            await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            if (ownsDataSource)
            {
                await dataSource.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }
}
