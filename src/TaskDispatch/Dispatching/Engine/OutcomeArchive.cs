using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Keeps ended tasks findable by id for <see cref="TaskDispatcherOptions.OutcomeRetention"/>, at most
/// <see cref="TaskDispatcherOptions.MaxRetainedOutcomes"/> of them: their handles carry state, result or error, attempts
/// and times. Within retention, a caller-given id of an ended task is still taken, so it is not run twice.</summary>
/// <remarks>Ended tasks go into per-processor rings, so that workers ending tasks on different cores write different
/// cache lines; the oldest entry of a ring makes room for the next. Caller-given ids are also keyed in one table;
/// a generated id is found by scanning the rings, which is rare (whoever asks usually holds the handle).</remarks>
internal sealed class OutcomeArchive
{
    private readonly Ring[] _rings;
    private readonly int _ringMask;
    private readonly long _retentionTicks;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<string, TaskHandle> _byCallerId = new(StringComparer.Ordinal);

    internal OutcomeArchive(TimeSpan retention, int capacity, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _retentionTicks = retention.Ticks;
        if (capacity == 0 || retention == TimeSpan.Zero)
        {
            _rings = [];
            return;
        }

        // Fewer rings than processors when the capacity is small, so that each ring keeps a useful number of tasks.
        var ringCount = (int)Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount), System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity / 64)));
        ringCount = Math.Max(1, ringCount);
        _rings = new Ring[ringCount];
        _ringMask = ringCount - 1;
        var perRing = (capacity + ringCount - 1) / ringCount;
        for (var i = 0; i < ringCount; i++)
        {
            _rings[i] = new Ring(perRing);
        }
    }

    /// <summary>Gets whether ended tasks are kept at all.</summary>
    internal bool IsEnabled => _rings.Length != 0;

    /// <summary>Keeps an ended task; called once per task, before the registry forgets it, so that a lookup that misses
    /// the live task finds the ended one.</summary>
    internal void Add(TaskHandle task)
    {
        if (_rings.Length == 0)
        {
            return;
        }

        if (task.HasCallerId)
        {
            _byCallerId[task.Id] = task;
        }

        var ring = _rings[Thread.GetCurrentProcessorId() & _ringMask];
        var evicted = ring.Put(task);
        if (evicted is { HasCallerId: true })
        {
            // Only if the table still names the evicted task: a later task with the same id replaced it.
            _byCallerId.TryRemove(new KeyValuePair<string, TaskHandle>(evicted.Id, evicted));
        }
    }

    /// <summary>Keeps a task rebuilt from a durable store if it ended within retention.</summary>
    /// <returns>Whether it ended within retention (kept in memory only if ended tasks are kept at all).</returns>
    internal bool AddIfRetained(TaskHandle task)
    {
        if (!IsRetained(task, _timeProvider.GetUtcNow().UtcTicks))
        {
            return false;
        }

        Add(task);
        return true;
    }

    /// <summary>Finds an ended task within retention by id.</summary>
    internal bool TryGet(string id, [NotNullWhen(true)] out TaskHandle? task)
    {
        if (_rings.Length == 0)
        {
            task = null;
            return false;
        }

        var now = _timeProvider.GetUtcNow().UtcTicks;
        if (!id.StartsWith(TaskDispatcherDefaults.GeneratedIdPrefix, StringComparison.Ordinal))
        {
            if (_byCallerId.TryGetValue(id, out task) && IsRetained(task, now))
            {
                return true;
            }

            task = null;
            return false;
        }

        task = null;
        foreach (var ring in _rings)
        {
            if (ring.Find(id) is { } found && IsRetained(found, now) && (task is null || found.EndedAt > task.EndedAt))
            {
                task = found;
            }
        }

        return task is not null;
    }

    /// <summary>Forgets the ended task with a caller-given id, whose id a resubmission is about to take.</summary>
    internal void Forget(TaskHandle task)
    {
        if (task.HasCallerId)
        {
            _byCallerId.TryRemove(new KeyValuePair<string, TaskHandle>(task.Id, task));
        }
    }

    private bool IsRetained(TaskHandle task, long nowTicks) =>
        task.EndedAt is { } ended && nowTicks - ended.UtcTicks <= _retentionTicks;

    /// <summary>A fixed number of the latest ended tasks.</summary>
    private sealed class Ring(int capacity)
    {
        private readonly TaskHandle?[] _slots = new TaskHandle?[capacity];
        private long _next;

        /// <summary>Puts a task in the next slot and returns the one it replaced.</summary>
        internal TaskHandle? Put(TaskHandle task)
        {
            var index = (Interlocked.Increment(ref _next) - 1) % _slots.Length;
            return Interlocked.Exchange(ref _slots[index], task);
        }

        internal TaskHandle? Find(string id)
        {
            foreach (var task in _slots)
            {
                if (task is not null && task.HasId(id))
                {
                    return task;
                }
            }

            return null;
        }
    }
}
