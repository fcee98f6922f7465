using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The dispatcher's life: running, draining, cancelling, stopped. Decides whether submissions are accepted,
/// and carries out a stop: drain or cancel, force what is left at the deadline, close the nodes, count the lost.</summary>
internal sealed class DispatcherLifecycle : IAsyncDisposable
{
    /// <summary>Whether tasks live in a durable store: then a draining stop waits only for running attempts, since
    /// waiting tasks are safe in the store and the next start runs them.</summary>
    private readonly bool _durable;

    /// <summary>Ended tasks whose end a durable store is still writing: settled, so a forced stop does not wait for them.</summary>
    private readonly Func<long> _pendingStoreEnds;

    private const int Running = 0;
    private const int Draining = 1;
    private const int Cancelling = 2;
    private const int Stopped = 3;

    private readonly string _dispatcherName;
    private readonly ShutdownMode _shutdownMode;
    private readonly TimeSpan _shutdownTimeout;
    private readonly TaskRegistry _registry;
    private readonly NodeSet _nodes;
    private readonly TaskNotifier _notifier;
    private readonly Scheduler _scheduler;
    private readonly TaskCounters _counters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action _onStopped;

    /// <summary>Cancelled when the dispatcher starts stopping, to release submitters waiting for room.</summary>
    private readonly CancellationTokenSource _stopping = new();

    private readonly Lock _stopLock = new();
    private int _stopState;
    private int _disposed;
    private Task? _stopTask;

    internal DispatcherLifecycle(string dispatcherName, TaskDispatcherOptions options, TaskRegistry registry, NodeSet nodes, TaskNotifier notifier, Scheduler scheduler, TaskCounters counters, TimeProvider timeProvider, ILogger logger, Action onStopped, Func<long>? pendingStoreEnds = null)
    {
        _durable = pendingStoreEnds is not null;
        _pendingStoreEnds = pendingStoreEnds ?? (static () => 0);
        _dispatcherName = dispatcherName;
        _shutdownMode = options.ShutdownMode;
        _shutdownTimeout = options.ShutdownTimeout;
        _registry = registry;
        _nodes = nodes;
        _notifier = notifier;
        _scheduler = scheduler;
        _counters = counters;
        _timeProvider = timeProvider;
        _logger = logger;
        _onStopped = onStopped;
    }

    /// <summary>Gets whether the dispatcher has finished stopping.</summary>
    internal bool IsStopped => Volatile.Read(ref _stopState) == Stopped;

    /// <summary>Gets where the dispatcher is in its life; a failed engine wins over a stop.</summary>
    internal DispatcherStatus Status => _scheduler.Fault is not null ? DispatcherStatus.Faulted : Volatile.Read(ref _stopState) switch
    {
        Running => DispatcherStatus.Running,
        Stopped => DispatcherStatus.Stopped,
        _ => DispatcherStatus.Stopping,
    };

    /// <summary>Gets what failed the engine, if it failed.</summary>
    internal Exception? Fault => _scheduler.Fault;

    /// <summary>Gets whether a stop has begun.</summary>
    internal bool IsStopping => Volatile.Read(ref _stopState) != Running;

    /// <summary>Gets a token cancelled when the dispatcher starts stopping.</summary>
    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>A stopping dispatcher still takes follow-up work from its own running tasks while it drains.</summary>
    internal bool IsAccepting(TaskContext? reentrant) => Volatile.Read(ref _stopState) switch
    {
        Running => _scheduler.Fault is null,
        Draining => reentrant is not null && !reentrant.Handle.IsFinished,
        _ => false,
    };

    internal void ThrowIfNotAccepting(TaskContext? reentrant)
    {
        if (IsAccepting(reentrant))
        {
            return;
        }

        if (_scheduler.Fault is { } fault)
        {
            throw new InvalidOperationException($"Dispatcher '{_dispatcherName}' failed and accepts no new tasks.", fault);
        }

        if (Volatile.Read(ref _stopState) == Stopped || Volatile.Read(ref _disposed) != 0)
        {
            throw new ObjectDisposedException(nameof(TaskDispatcher), $"Dispatcher '{_dispatcherName}' has stopped and accepts no new tasks.");
        }

        throw new InvalidOperationException($"Dispatcher '{_dispatcherName}' is stopping and accepts no new tasks.");
    }

    /// <summary>Stops the dispatcher: drains or cancels, within the deadline; later calls return the same stop.</summary>
    internal Task StopAsync(ShutdownMode mode = ShutdownMode.Drain, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, $"{nameof(mode)} is not a defined {nameof(ShutdownMode)}.");
        }

        var deadline = timeout ?? _shutdownTimeout;
        StopTimeouts.Validate(deadline, nameof(timeout));

        lock (_stopLock)
        {
            if (_stopTask is not null)
            {
                // A later Cancel escalates a drain that is under way.
                if (mode == ShutdownMode.Cancel && Interlocked.CompareExchange(ref _stopState, Cancelling, Draining) == Draining)
                {
                    CancelAll();
                }

                return _stopTask;
            }

            _stopTask = StopCoreAsync(mode, deadline, cancellationToken);
            return _stopTask;
        }
    }

    /// <summary>Stops as <see cref="TaskDispatcherOptions.ShutdownMode"/> and <see cref="TaskDispatcherOptions.ShutdownTimeout"/>
    /// say, forcing what is left when <paramref name="cancellationToken"/> is cancelled first (a host's shutdown).</summary>
    internal Task StopAsConfiguredAsync(CancellationToken cancellationToken) => StopAsync(_shutdownMode, _shutdownTimeout, cancellationToken);

    /// <summary>Stops as <see cref="TaskDispatcherOptions.ShutdownMode"/> and <see cref="TaskDispatcherOptions.ShutdownTimeout"/> say.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            if (_stopTask is { } pending)
            {
                await pending.ConfigureAwait(false);
            }

            return;
        }

        await StopAsync(_shutdownMode, _shutdownTimeout).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StopCoreAsync(ShutdownMode mode, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopStarted = _timeProvider.GetTimestamp();
        var (_, completedBefore, failedBefore, cancelledBefore) = _counters.TaskCounts();

        // Setting the state before reading the live count pairs with Accept: see the comment there.
        Interlocked.Exchange(ref _stopState, mode == ShutdownMode.Drain ? Draining : Cancelling);
        Log.DispatcherStopping(_logger, _dispatcherName, mode, _registry.LiveCount);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (mode == ShutdownMode.Cancel)
        {
            CancelAll();
        }
        else if (_durable)
        {
            CancelWaiting();
        }

        _registry.BeginDraining();

        var forced = 0;
        try
        {
            await _registry.Drained.WaitAsync(timeout, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            // The deadline passed: every task still live ends Cancelled now, even if its work ignores its token.
            // Until only tasks that have ended and wait for a blocked observer remain: their outcome is settled.
            while (!_registry.Drained.IsCompleted && _registry.LiveCount > _notifier.UnannouncedEnds + _pendingStoreEnds())
            {
                forced += ForceCancelAll();
                if (!_registry.Drained.IsCompleted)
                {
                    // A submission between counting itself live and registering its handle; it registers in a moment.
                    await Task.Yield();
                }
            }
        }

        Interlocked.Exchange(ref _stopState, Stopped);
        var nodes = _nodes.Close();

        _notifier.Complete();
        _counters.CountLostTasks();
        _onStopped();
        // Workers exit as soon as their channel is empty. Those still inside work (work that ignores its token, or an
        // attempt the engine gave up on a hung node) are waited for only until the deadline: a stop always returns.
        var busy = new List<Task>();
        foreach (var node in nodes)
        {
            for (var i = 0; i < node.Workers.Length; i++)
            {
                if (!node.Workers[i].IsCompleted && node.Slots[i].Current is not { IsAbandoned: true })
                {
                    busy.Add(node.Workers[i]);
                }
            }
        }

        if (busy.Count > 0)
        {
            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - _timeProvider.GetElapsedTime(stopStarted);
            try
            {
                await Task.WhenAll(busy).WaitAsync(remaining > TimeSpan.Zero || remaining == Timeout.InfiniteTimeSpan ? remaining : TimeSpan.Zero, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
            {
                Log.WorkersOutlivedStop(_logger, _dispatcherName, busy.Count(static worker => !worker.IsCompleted));
            }
        }

        // Every task that ended while the dispatcher stopped is counted by its outcome, whatever ended it: the deadline,
        // a cancel-mode stop, a container that could no longer create the task's scope, or its own work.
        var (_, completedAfter, failedAfter, cancelledAfter) = _counters.TaskCounts();
        var cancelled = cancelledAfter - cancelledBefore;
        Log.DispatcherStopped(_logger, _dispatcherName, completedAfter - completedBefore, failedAfter - failedBefore, cancelled, forced);
        if (cancelled > 0)
        {
            Log.TasksCancelledByStop(_logger, _dispatcherName, cancelled, forced);
        }
    }

    private void CancelAll()
    {
        foreach (var task in _registry.Tasks)
        {
            task.Cancel();
        }
    }

    /// <summary>Cancels the tasks not yet handed to a node; a durable store keeps them for the next start.</summary>
    private void CancelWaiting()
    {
        foreach (var task in _registry.Tasks)
        {
            if (task.State is TaskState.Pending or TaskState.Retrying)
            {
                task.Cancel();
            }
        }
    }

    private int ForceCancelAll()
    {
        var forced = 0;
        foreach (var task in _registry.Tasks)
        {
            task.Cancel();
            if (task.TryFinish(TaskState.Cancelled, null))
            {
                forced++;
            }
        }

        return forced;
    }
}
