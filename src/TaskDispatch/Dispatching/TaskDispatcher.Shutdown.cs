namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    /// <inheritdoc />
    public Task StopAsync(ShutdownMode mode = ShutdownMode.Drain, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, $"{nameof(mode)} is not a defined {nameof(ShutdownMode)}.");
        }

        var deadline = timeout ?? _options.ShutdownTimeout;
        if (deadline < TimeSpan.Zero && deadline != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), deadline, $"{nameof(timeout)} must not be negative, was {deadline}.");
        }

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

    /// <summary>Stops as <see cref="TaskDispatcherOptions.ShutdownMode"/> and <see cref="TaskDispatcherOptions.ShutdownTimeout"/> say.</summary>
    /// <returns>A task that completes when the dispatcher has stopped.</returns>
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

        await StopAsync(_options.ShutdownMode, _options.ShutdownTimeout).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Stops synchronously, for containers and callers that cannot await; prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task StopCoreAsync(ShutdownMode mode, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopStarted = TimeProvider.GetTimestamp();

        // Setting the state before reading the live count pairs with Accept: see the comment there.
        Interlocked.Exchange(ref _stopState, mode == ShutdownMode.Drain ? Draining : Cancelling);
        Log.DispatcherStopping(_logger, Name, mode, LiveTaskCount);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (mode == ShutdownMode.Cancel)
        {
            CancelAll();
        }

        if (Interlocked.Read(ref _liveCount) == 0)
        {
            _drained.TrySetResult();
        }

        var forced = 0;
        try
        {
            await _drained.Task.WaitAsync(timeout, TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            // The deadline passed: every task still live ends Cancelled now, even if its work ignores its token.
            // Until only tasks that have ended and wait for a blocked observer remain: their outcome is settled.
            while (!_drained.Task.IsCompleted && Interlocked.Read(ref _liveCount) > _notifier.UnannouncedEnds)
            {
                forced += ForceCancelAll();
                if (!_drained.Task.IsCompleted)
                {
                    // A submission between counting itself live and registering its handle; it registers in a moment.
                    await Task.Yield();
                }
            }
        }

        Interlocked.Exchange(ref _stopState, Stopped);
        NodeRuntime[] nodes;
        lock (_nodesLock)
        {
            // Under the lock, so that a node added concurrently is either refused or completed here.
            nodes = _nodes;
            foreach (var node in nodes)
            {
                node.Queue.Writer.TryComplete();
            }
        }

        _notifier.Complete();
        CountLostTasks();
        TaskDispatchMetrics.Unregister(this);
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
            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - TimeProvider.GetElapsedTime(stopStarted);
            try
            {
                await Task.WhenAll(busy).WaitAsync(remaining > TimeSpan.Zero || remaining == Timeout.InfiniteTimeSpan ? remaining : TimeSpan.Zero, TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
            {
                Log.WorkersOutlivedStop(_logger, Name, busy.Count(static worker => !worker.IsCompleted));
            }
        }

        Log.DispatcherStopped(_logger, Name, forced);
    }

    private void CancelAll()
    {
        foreach (var task in _tasks.Values)
        {
            task.Cancel();
        }
    }

    private int ForceCancelAll()
    {
        var forced = 0;
        foreach (var task in _tasks.Values)
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
