using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TaskDispatch;

/// <summary>One process's membership of a cluster on PostgreSQL. Tasks submitted through any member wait in one table;
/// the allocation strategy places each on a live node of the whole cluster; each node leases the tasks placed on it in
/// batches, in the scheduling policy's order, and runs them on this member's <see cref="Local"/> dispatcher; every
/// acknowledgement, renewal and checkpoint is fenced by the lease token. A member that dies or stops renewing loses its
/// tasks to the others, which resume them from their last checkpoint. Build one with <see cref="TaskClusterBuilder"/>.</summary>
public sealed partial class TaskCluster : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgreSqlClusterOptions _options;
    private readonly ClusterSql _sql;
    private readonly LeaseBook _leases;
    private readonly ClusterMetrics _metrics;
    private readonly ClusterPlacer _placer;
    private readonly ISchedulingPolicy _scheduling;
    private readonly Dictionary<Type, ClusterHandler> _handlersByType;
    private readonly Dictionary<string, ClusterHandler> _handlersByName;
    private readonly LocalNode[] _nodes;
    private readonly string _nodeList;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly AwaitedHandles _awaiting = new();
    private readonly AwaitedHandles _awaitingOthers = new();
    private readonly ConcurrentQueue<EndedOutcome> _ended = new();
    private readonly Channel<PendingInsert> _inserts = Channel.CreateUnbounded<PendingInsert>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<Acknowledgement> _acks = Channel.CreateUnbounded<Acknowledgement>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AsyncSignal _leaseSignal = new();
    private readonly AsyncSignal _resultSignal = new();

    /// <summary>Set when notifications may have been missed (the listener reconnected, a payload could not be read): the
    /// result loop then reads every awaited id at once.</summary>
    private int _sweepRequested;

    /// <summary>How many outcomes the result loop has read back from the table rather than from a notification.</summary>
    private long _outcomesReadBack;

    /// <summary>Gets how many outcomes this member read back from the table rather than from a notification.</summary>
    internal long OutcomesReadBack => Interlocked.Read(ref _outcomesReadBack);

    /// <summary>Gets or sets what the result loop awaits after reading the rows of these ids and before it fails the
    /// handles of those it did not find: tests commit a row in between.</summary>
    internal Func<string[], Task>? OutcomesReadForTest { get; set; }

    /// <summary>How many ids the result loop looked up in the table, ended or not.</summary>
    private long _idsReadBack;

    /// <summary>Gets how many ids the result loop looked up in the table, ended or not.</summary>
    internal long IdsReadBack => Interlocked.Read(ref _idsReadBack);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _leasing = new();
    private readonly List<Task> _loops = [];
    private readonly List<Task> _writers = [];

    /// <summary>Cut short by the first token of any stop call that is cancelled. Never disposed: a caller's token may
    /// still cancel it after the stop ended, and it holds nothing else.</summary>
    private readonly CancellationTokenSource _hurry = new();
    private readonly Lock _stopGate = new();
    private Task? _stop;
    private int _leasedRunning;
    private int _workNoticesHeard;

    // Whether the task and queue tables need no more analyzing here, and the tables this member analyzed (see
    // AnalyzeNewTablesAsync); only the watch loop uses them.
    private readonly HashSet<string> _analyzeTried = new(StringComparer.Ordinal);
    private bool _analyzed;

    internal TaskCluster(
        string name,
        NpgsqlDataSource dataSource,
        bool ownsDataSource,
        PostgreSqlClusterOptions options,
        ClusterSql sql,
        LeaseBook leases,
        ClusterMetrics metrics,
        TaskDispatcher local,
        IEnumerable<(string Name, NodeOptions Options)> nodes,
        ISchedulingPolicy scheduling,
        IAllocationStrategy allocation,
        IEnumerable<ClusterHandler> handlers,
        TimeProvider timeProvider,
        ILogger logger)
    {
        Name = name;
        // At most 50 characters: with its prefix it is the listener's application_name, which PostgreSQL cuts at 63.
        var machine = Environment.MachineName;
        MemberId = $"{machine[..Math.Min(machine.Length, 24)]}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _options = options;
        _sql = sql;
        _leases = leases;
        _metrics = metrics;
        Local = local;
        _nodes = [.. nodes.Select(node => new LocalNode(node.Name, node.Options, node.Options.MaxConcurrency + (options.Prefetch ?? node.Options.MaxConcurrency)))];
        _nodeList = string.Join(", ", _nodes.Select(node => node.Name));
        _scheduling = scheduling;
        _placer = new ClusterPlacer(allocation);
        var handlerList = handlers.ToList();
        _handlersByType = handlerList.ToDictionary(handler => handler.HandlerType);
        _handlersByName = handlerList.ToDictionary(handler => handler.Name, StringComparer.Ordinal);
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets the cluster's name: members with the same name (and schema) form one cluster.</summary>
    public string Name { get; }

    /// <summary>Gets this member's id, unique across the cluster's life: machine, process id and a random part.</summary>
    public string MemberId { get; }

    /// <summary>Gets this member's own dispatcher, which runs what its nodes leased: its statistics and watchers show
    /// the work of this process.</summary>
    public TaskDispatcher Local { get; }

    /// <summary>Gets how many late writes of this member the store refused (acknowledgements and checkpoints for tasks
    /// whose lease had moved on) since it joined.</summary>
    public long RefusedWrites => _metrics.RefusedTotal;

    /// <summary>Gets how many tasks of dead or paused nodes this member took back and placed again since it joined.</summary>
    public long RecoveredTasks => _metrics.RecoveredTotal;

    /// <summary>Gets the names of this member's nodes.</summary>
    public IReadOnlyList<string> NodeNames => [.. _nodes.Select(node => node.Name)];

    /// <summary>Submits a handler task to the cluster. It returns once the task is committed to the store: from then on it
    /// survives the death of any process, this one included.</summary>
    /// <typeparam name="THandler">The handler, registered with <see cref="TaskClusterBuilder.AddHandler{THandler, TInput, TResult}"/> in every member.</typeparam>
    /// <typeparam name="TInput">Its input, written as JSON.</typeparam>
    /// <typeparam name="TResult">Its result, written as JSON.</typeparam>
    /// <param name="input">The input.</param>
    /// <param name="options">Per-task options; <see cref="TaskOptions.Id"/> makes the submission idempotent across the
    /// cluster (a second submission with the same id waits for the first task's outcome, until
    /// <see cref="PostgreSqlClusterOptions.OutcomeRetention"/> after its end).</param>
    /// <param name="cancellationToken">Cancels waiting for the commit; a task already committed still runs (cancel it by id).</param>
    /// <returns>The task's handle.</returns>
    public async ValueTask<ClusterTaskHandle<TResult>> SubmitAsync<THandler, TInput, TResult>(TInput input, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        var handler = HandlerFor<THandler, TInput, TResult>();
        options ??= DefaultOptions;
        var insert = await PrepareAsync(handler, input, options, PrepareOptions(options), cancellationToken).ConfigureAwait(false);
        var handle = new ClusterTaskHandle<TResult>(insert.Id, handler.Result);
        await WriteAsync([(insert, handle)], cancellationToken).ConfigureAwait(false);
        return handle;
    }

    /// <summary>Submits many tasks of one handler with shared options, written in as few commits as possible.</summary>
    /// <typeparam name="THandler">The handler.</typeparam>
    /// <typeparam name="TInput">Its input.</typeparam>
    /// <typeparam name="TResult">Its result.</typeparam>
    /// <param name="inputs">The inputs, one task each.</param>
    /// <param name="options">Options shared by every task; must not carry an <see cref="TaskOptions.Id"/>.</param>
    /// <param name="cancellationToken">Cancels waiting for the commits.</param>
    /// <returns>The handles, in input order.</returns>
    /// <remarks>Tasks are written in batches of <see cref="PostgreSqlClusterOptions.WriteBatchSize"/>, each batch prepared
    /// while the one before it is written. When a task cannot be prepared or a batch cannot be written, the call throws;
    /// the tasks of batches already handed to the writer (at most two) that do get written run all the same.</remarks>
    public async ValueTask<IReadOnlyList<ClusterTaskHandle<TResult>>> SubmitManyAsync<THandler, TInput, TResult>(IEnumerable<TInput> inputs, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (options?.Id is not null)
        {
            throw new ArgumentException("Options shared by many tasks must not carry an Id: ids are per task.", nameof(options));
        }

        var handler = HandlerFor<THandler, TInput, TResult>();
        options ??= DefaultOptions;
        var optionsJson = PrepareOptions(options);
        var handles = new List<ClusterTaskHandle<TResult>>();
        var batch = new List<(PendingInsert, ClusterTaskHandle)>();

        // The next batch is prepared while the one before it is written (two at most in flight, so a long submission
        // holds at most two batches in memory). `writing` is the batch handed over and not yet awaited.
        List<(PendingInsert, ClusterTaskHandle)>? writing = null;
        try
        {
            foreach (var input in inputs)
            {
                var insert = await PrepareAsync(handler, input, options, optionsJson, cancellationToken).ConfigureAwait(false);
                var handle = new ClusterTaskHandle<TResult>(insert.Id, handler.Result);
                handles.Add(handle);
                batch.Add((insert, handle));
                if (batch.Count >= _options.WriteBatchSize)
                {
                    await HandOverAsync(batch).ConfigureAwait(false);
                    batch = [];
                }
            }

            if (batch.Count > 0)
            {
                await HandOverAsync(batch).ConfigureAwait(false);
            }

            await HandOverAsync(null).ConfigureAwait(false);
        }
        catch when (writing is not null)
        {
            _ = AbandonAsync(writing);
            throw;
        }

        return handles;

        // Hands `next` (if any) to the writer, then waits for the batch handed over before it.
        async ValueTask HandOverAsync(List<(PendingInsert, ClusterTaskHandle)>? next)
        {
            if (next is not null)
            {
                HandToWriter(next);
            }

            var previous = writing;
            writing = next;
            if (previous is not null)
            {
                await AwaitWrittenAsync(previous, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Looks a task up by id in the store, whichever member submitted or ran it.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The task, or <see langword="null"/> when the store has no task with this id (none was submitted, or it
    /// ended longer ago than <see cref="PostgreSqlClusterOptions.OutcomeRetention"/> and was pruned).</returns>
    public async Task<ClusterTaskInfo?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var command = _dataSource.CreateCommand(_sql.Find);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new ClusterTaskInfo
        {
            Id = reader.GetString(0),
            Handler = reader.GetString(1),
            State = (TaskState)reader.GetInt16(2),
            Node = reader.IsDBNull(3) ? null : reader.GetString(3),
            Deliveries = reader.GetInt32(4),
            Recoveries = reader.GetInt32(5),
            SubmittedAt = reader.GetFieldValue<DateTimeOffset>(6),
            StartedAt = reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
            EndedAt = reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
            ResultJson = reader.IsDBNull(9) ? null : reader.GetString(9),
            Error = reader.IsDBNull(10) ? null : reader.GetString(10),
            ErrorType = reader.IsDBNull(11) ? null : reader.GetString(11),
            DeadLettered = reader.GetBoolean(12),
        };
    }

    /// <summary>Cancels a task by id from any member: a waiting task ends <see cref="TaskState.Cancelled"/> at once; a
    /// running one has its attempt's token cancelled on the node that runs it, which then ends it.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Whether a task that had not ended was found.</returns>
    public async Task<bool> CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var command = _dataSource.CreateCommand(_sql.Cancel);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.DoneChannel });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.CancelChannel });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return reader.GetInt32(0) + reader.GetInt32(1) > 0;
    }

    /// <summary>Reads the cluster's nodes from the store: every member's, with their load and liveness.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The nodes that are live or left within the last hour, by name.</returns>
    public Task<IReadOnlyList<ClusterNodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) =>
        ReadNodesAsync(withLoad: true, cancellationToken);

    /// <summary>Reads the cluster's nodes; without <paramref name="withLoad"/>, from the membership table alone, with
    /// <see cref="ClusterNodeInfo.Load"/> and <see cref="ClusterNodeInfo.Leased"/> left at 0 (the health check, which
    /// needs only who is live, and must stay cheap however many tasks wait).</summary>
    internal async Task<IReadOnlyList<ClusterNodeInfo>> ReadNodesAsync(bool withLoad, CancellationToken cancellationToken)
    {
        var nodes = new List<ClusterNodeInfo>();
        var command = _dataSource.CreateCommand(withLoad ? _sql.Nodes : _sql.NodesLiveness);
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.LeaseDuration });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.EffectiveHeartbeat * 2 });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            nodes.Add(new ClusterNodeInfo
            {
                Name = reader.GetString(0),
                Member = reader.GetString(1),
                Host = reader.GetString(2),
                ProcessId = reader.GetInt32(3),
                Slots = reader.GetInt32(4),
                Weight = reader.GetDouble(5),
                Tags = reader.GetFieldValue<string[]>(6),
                Resources = JsonSerializer.Deserialize(reader.GetString(7), ClusterJsonContext.Default.DictionaryStringDouble) ?? [],
                LastHeartbeat = reader.GetFieldValue<DateTimeOffset>(8),
                IsAlive = reader.GetBoolean(9),
                Load = reader.GetInt32(10) + reader.GetInt32(11),
                Leased = reader.GetInt32(11),
            });
        }

        return nodes;
    }

    /// <summary>Leaves the cluster: stops leasing, lets what runs here finish within <paramref name="timeout"/> (what it
    /// does not finish is handed back to the cluster, not cancelled), hands back what was leased and not started, and
    /// marks this member's nodes as gone. Handles of tasks this member submitted that have not ended fail with
    /// <see cref="ObjectDisposedException"/>; the tasks themselves go on in the cluster (look them up by id).</summary>
    /// <param name="timeout">How long running tasks may take to finish, and the last writes after them;
    /// <see langword="null"/> for <see cref="PostgreSqlClusterOptions.ShutdownTimeout"/>. Not negative, or
    /// <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <param name="cancellationToken">Cuts the wait for running tasks short, as if the timeout had passed (a host's
    /// shutdown token): they are handed back at once, and the last writes get a second at most. The first call's timeout
    /// counts; the token of any call, even one made once the stop is under way, hurries it.</param>
    /// <returns>A task that completes when the member has left.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="timeout"/> is negative (and not
    /// <see cref="Timeout.InfiniteTimeSpan"/>) or longer than about 49.7 days.</exception>
    public Task StopAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (timeout is { } given)
        {
            StopTimeouts.Validate(given, nameof(timeout));
        }

        Task stop;
        lock (_stopGate)
        {
            stop = _stop ??= StopCoreAsync(timeout ?? _options.ShutdownTimeout, _hurry.Token);
        }

        return !cancellationToken.CanBeCanceled || stop.IsCompleted ? stop : HurryWhenCancelledAsync(stop, cancellationToken);
    }

    private async Task HurryWhenCancelledAsync(Task stop, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(static hurry => ((CancellationTokenSource)hurry!).Cancel(), _hurry);
        await stop.ConfigureAwait(false);
    }

    /// <summary>Gets whether <see cref="StopAsync"/> or <see cref="DisposeAsync"/> has been called.</summary>
    internal bool IsStopping
    {
        get
        {
            lock (_stopGate)
            {
                return _stop is not null;
            }
        }
    }

    /// <summary>Leaves the cluster as <see cref="StopAsync"/> does, within <see cref="PostgreSqlClusterOptions.ShutdownTimeout"/>,
    /// and releases the connections.</summary>
    /// <returns>A task that completes when the member has left.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} member {MemberId} ({string.Join(", ", NodeNames)})";

    private ClusterHandler<THandler, TInput, TResult> HandlerFor<THandler, TInput, TResult>()
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        ObjectDisposedException.ThrowIf(_leasing.IsCancellationRequested, this);
        return _handlersByType.TryGetValue(typeof(THandler), out var handler) && handler is ClusterHandler<THandler, TInput, TResult> typed
            ? typed
            : throw new InvalidOperationException($"Handler {typeof(THandler).Name} is not registered in cluster '{Name}': call AddHandler<{typeof(THandler).Name}, {typeof(TInput).Name}, {typeof(TResult).Name}>() on the TaskClusterBuilder of every member, with the same name in each.");
    }

    /// <summary>Every member's node, with the slots it leases for.</summary>
    private sealed class LocalNode(string name, NodeOptions options, int capacity)
    {
        private readonly Lock _announcedGate = new();
        private int _held;
        private QueuePosition? _announced;

        internal string Name { get; } = name;

        internal NodeOptions Options { get; } = options;

        internal int Capacity { get; } = capacity;

        internal int Held => Volatile.Read(ref _held);

        internal void Hold(int count) => Interlocked.Add(ref _held, count);

        /// <summary>Where the node's last full batch ended in its queue's order (sort key, sequence number), for the next
        /// lease to start after; <see langword="null"/>: start from the head. Only the lease loop reads and writes it.</summary>
        internal QueuePosition? ScanMark { get; set; }

        /// <summary>When (a <see cref="TimeProvider"/> timestamp) the node's last lease from the head of its queue started.</summary>
        internal long HeadScannedAt { get; set; }

        /// <summary>The token of the last lease whose rows this member read for the node (tokens only grow).</summary>
        internal long LastLeaseToken { get; set; }

        /// <summary>Set when a lease failed without its outcome being known: it may have committed, its reply lost.</summary>
        internal bool LeaseInDoubt { get; set; }

        /// <summary>Notes what a work notification announced: tasks from <paramref name="position"/> on in the node's
        /// queue (<see cref="QueuePosition.Head"/>: anywhere in it).</summary>
        internal void Announce(QueuePosition position)
        {
            lock (_announcedGate)
            {
                if (_announced is not { } earlier || position.IsBefore(earlier))
                {
                    _announced = position;
                }
            }
        }

        /// <summary>Whether work was announced before <paramref name="mark"/> (always, when there is none) since the last
        /// call, which forgets what was announced.</summary>
        internal bool TakeAnnouncedBefore(QueuePosition? mark)
        {
            lock (_announcedGate)
            {
                var before = mark is not { } position || (_announced is { } at && at.IsBefore(position));
                _announced = null;
                return before;
            }
        }
    }
}
