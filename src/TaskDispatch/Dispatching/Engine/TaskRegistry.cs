using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Knows which tasks are live: every live task (for stops and faults), the tasks with caller-given ids by id
/// (idempotent submission, lookup and cancellation by id), and the live count, whose reaching zero after a stop began
/// means the dispatcher has drained.</summary>
/// <remarks>Tasks with generated ids are in no keyed table: their ids are not even formatted unless asked for. Looking one
/// up by its generated id scans the live tasks, which is rare (the submitter holds the handle).</remarks>
internal sealed class TaskRegistry
{
    /// <summary>Every live task.</summary>
    private readonly LiveTaskSet _live = new();

    /// <summary>The live tasks with caller-given ids, by id.</summary>
    private readonly ConcurrentDictionary<string, TaskHandle> _byCallerId = new(StringComparer.Ordinal);

    /// <summary>Completed when no task is live after <see cref="BeginDraining"/>.</summary>
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Tasks accepted and not yet released, plus submissions in flight.</summary>
    private long _liveCount;

    /// <summary>1 once a stop began: from then on the live count reaching zero signals <see cref="Drained"/>.</summary>
    private int _draining;

    /// <summary>Gets the number of live tasks and submissions in flight.</summary>
    internal long LiveCount => Math.Max(0, Interlocked.Read(ref _liveCount));

    /// <summary>Gets a task that completes when nothing is live after a stop began.</summary>
    internal Task Drained => _drained.Task;

    /// <summary>Gets the live tasks now, for stops and faults.</summary>
    internal List<TaskHandle> Tasks => _live.Snapshot();

    /// <summary>Finds a live task by id: a caller-given one in its table, a generated one by scanning.</summary>
    internal bool TryGet(string id, [NotNullWhen(true)] out TaskHandle? task)
    {
        if (!id.StartsWith(TaskDispatcherDefaults.GeneratedIdPrefix, StringComparison.Ordinal))
        {
            return _byCallerId.TryGetValue(id, out task);
        }

        task = _live.Find(static (candidate, id) => candidate.HasId(id), id);
        return task is not null;
    }

    /// <summary>Adds an accepted task, or returns the live task that already has its caller-given id.</summary>
    internal bool TryAdd(TaskHandle task, [NotNullWhen(false)] out TaskHandle? existing)
    {
        if (task.HasCallerId)
        {
            while (!_byCallerId.TryAdd(task.Id, task))
            {
                if (_byCallerId.TryGetValue(task.Id, out existing))
                {
                    return false;
                }
            }
        }

        _live.Add(task);
        existing = null;
        return true;
    }

    /// <summary>Forgets a task that reached its terminal state (it may still count as live until released).</summary>
    internal void Remove(TaskHandle task)
    {
        _live.Remove(task);
        if (task.HasCallerId)
        {
            _byCallerId.TryRemove(new KeyValuePair<string, TaskHandle>(task.Id, task));
        }
    }

    /// <summary>Counts a submission as live, before it reads whether the dispatcher still accepts work.</summary>
    /// <remarks>Counting before reading the stop state pairs with <see cref="BeginDraining"/>, which sets its flag and
    /// then reads the count: either the submission sees the stop, or the stop waits for the task.</remarks>
    internal void AddLive() => Interlocked.Increment(ref _liveCount);

    /// <summary>Stops counting a task (or a refused submission) as live; signals the drain when the last one goes.</summary>
    internal void ReleaseLive()
    {
        if (Interlocked.Decrement(ref _liveCount) == 0 && Volatile.Read(ref _draining) != 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Starts watching for the drain: from now on the live count reaching zero completes <see cref="Drained"/>.</summary>
    internal void BeginDraining()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (Interlocked.Read(ref _liveCount) == 0)
        {
            _drained.TrySetResult();
        }
    }
}
