namespace TaskDispatch;

/// <summary>Counts tasks accepted but not yet running against a bound: a lock-free fast path for taking and giving
/// back a permit, and a FIFO queue of asynchronous waiters used only while the bound is reached.</summary>
internal sealed class PendingLimiter
{
    private readonly int _capacity;
    private readonly Queue<TaskCompletionSource> _waiters = new();

    /// <summary>Permits taken.</summary>
    private int _taken;

    /// <summary>Waiters registered or registering; read without the lock by <see cref="Release"/>.</summary>
    private int _waiterCount;

    internal PendingLimiter(int capacity)
    {
        _capacity = capacity;
    }

    internal bool TryAcquire()
    {
        var taken = Volatile.Read(ref _taken);
        while (taken < _capacity)
        {
            var seen = Interlocked.CompareExchange(ref _taken, taken + 1, taken);
            if (seen == taken)
            {
                return true;
            }

            taken = seen;
        }

        return false;
    }

    internal async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_waiters)
        {
            // Announce the waiter before trying (full fence); Release gives back before it looks for waiters.
            // So either this try sees the freed permit, or that Release sees this waiter and serves it.
            Interlocked.Increment(ref _waiterCount);
            if (TryAcquire())
            {
                Interlocked.Decrement(ref _waiterCount);
                return;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        using (cancellationToken.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetCanceled(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }

    internal void Release()
    {
        Interlocked.Decrement(ref _taken);
        if (Volatile.Read(ref _waiterCount) > 0)
        {
            ServeWaiters();
        }
    }

    private void ServeWaiters()
    {
        lock (_waiters)
        {
            while (_waiters.Count > 0 && TryAcquire())
            {
                var waiter = _waiters.Dequeue();
                Interlocked.Decrement(ref _waiterCount);
                if (!waiter.TrySetResult())
                {
                    // The waiter gave up (cancelled): the permit goes to the next one.
                    Interlocked.Decrement(ref _taken);
                }
            }
        }
    }
}
