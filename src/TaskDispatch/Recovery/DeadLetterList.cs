namespace TaskDispatch;

/// <summary>The tasks that ended <see cref="TaskState.Failed"/>, newest last, to inspect (each has its
/// <see cref="TaskHandle.AttemptFailures"/>) and to resubmit once the cause is fixed.</summary>
/// <remarks>
/// Bounded by <see cref="TaskDispatcherOptions.DeadLetterCapacity"/>: when full, the oldest entry makes room and is
/// counted in <see cref="Evicted"/>. A task that failed with the same id as one already listed replaces it. Thread-safe;
/// entries are added only when tasks fail, so the lock is never on the path of a task that succeeds.
/// </remarks>
public sealed class DeadLetterList
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskHandle> _order = [];
    private readonly Dictionary<string, LinkedListNode<TaskHandle>> _byId = new(StringComparer.Ordinal);
    private readonly TaskDispatcher _dispatcher;
    private readonly int _capacity;
    private long _evicted;

    internal DeadLetterList(TaskDispatcher dispatcher, int capacity)
    {
        _dispatcher = dispatcher;
        _capacity = capacity;
    }

    /// <summary>Gets how many failed tasks are listed now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _order.Count;
            }
        }
    }

    /// <summary>Gets how many tasks have failed since the dispatcher started, listed or not.</summary>
    public long TotalCount => _dispatcher.FailedTaskCount;

    /// <summary>Gets how many entries were dropped to stay within the capacity.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Gets the listed tasks, oldest first.</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<TaskHandle> GetAll()
    {
        lock (_lock)
        {
            return [.. _order];
        }
    }

    /// <summary>Finds a listed task by id.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="task">The failed task, if listed.</param>
    /// <returns>Whether it is listed.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="id"/> is <see langword="null"/>.</exception>
    public bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskHandle? task)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_lock)
        {
            task = _byId.TryGetValue(id, out var entry) ? entry.Value : null;
            return task is not null;
        }
    }

    /// <summary>Takes a task off the list, for example after handling it by other means.</summary>
    /// <param name="id">The task's id.</param>
    /// <returns>Whether it was listed.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="id"/> is <see langword="null"/>.</exception>
    public bool Remove(string id) => TryTake(id, out _);

    /// <summary>Submits a listed task's work again, with the same id and options, and takes it off the list. A checkpoint
    /// the failed task saved is still in the store, so the new task resumes from it.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="cancellationToken">Cancels waiting for room when the dispatcher is full.</param>
    /// <returns>The new task's handle (a <see cref="TaskHandle{TResult}"/> when the work has a result).</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="id"/> is <see langword="null"/>.</exception>
    /// <exception cref="KeyNotFoundException">Thrown when no task with <paramref name="id"/> is listed.</exception>
    public async ValueTask<TaskHandle> ResubmitAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!TryTake(id, out var failed))
        {
            throw new KeyNotFoundException($"No failed task with id '{id}' is in the dead letters of dispatcher '{_dispatcher.Name}'.");
        }

        try
        {
            return await _dispatcher.ResubmitAsync(failed, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Not resubmitted (the dispatcher is stopping, or the wait was cancelled): keep it listed.
            Add(failed);
            throw;
        }
    }

    /// <summary>Lists a task that has just failed.</summary>
    internal void Add(TaskHandle task)
    {
        if (_capacity == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_byId.Remove(task.Id, out var previous))
            {
                _order.Remove(previous);
            }

            _byId[task.Id] = _order.AddLast(task);
            if (_order.Count > _capacity)
            {
                var oldest = _order.First!;
                _order.RemoveFirst();
                _byId.Remove(oldest.Value.Id);
                Interlocked.Increment(ref _evicted);
            }
        }
    }

    private bool TryTake(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskHandle? task)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_lock)
        {
            if (_byId.Remove(id, out var entry))
            {
                _order.Remove(entry);
                task = entry.Value;
                return true;
            }
        }

        task = null;
        return false;
    }
}
