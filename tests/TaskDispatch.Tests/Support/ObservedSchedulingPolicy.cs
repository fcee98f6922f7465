using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch.Tests.Support;

/// <summary>Wraps a policy and keeps a thread-safe copy of what it holds, so that a test can see from outside which
/// tasks are in the ready queue while the scheduler works.</summary>
public sealed class ObservedSchedulingPolicy(ISchedulingPolicy inner) : ISchedulingPolicy
{
    private readonly ConcurrentDictionary<TaskHandle, byte> _queued = new(ReferenceEqualityComparer.Instance);

    /// <summary>Gets the number of tasks the policy holds, readable from any thread.</summary>
    public int QueuedCount => _queued.Count;

    public int Count => inner.Count;

    /// <summary>Gets whether the policy holds <paramref name="task"/> now.</summary>
    public bool Holds(TaskHandle task) => _queued.ContainsKey(task);

    public void Enqueue(TaskHandle task)
    {
        inner.Enqueue(task);
        _queued.TryAdd(task, 0);
    }

    public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
    {
        if (!inner.TryDequeue(out task))
        {
            return false;
        }

        _queued.TryRemove(task, out _);
        return true;
    }

    public bool Remove(TaskHandle task)
    {
        if (!inner.Remove(task))
        {
            return false;
        }

        _queued.TryRemove(task, out _);
        return true;
    }
}
