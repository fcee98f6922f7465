using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Orders the ready queue: decides which waiting task runs next.</summary>
/// <remarks>
/// Only the dispatcher's scheduler calls a policy, one call at a time and never concurrently, so an implementation needs no locks.
/// A policy is a pure decision component: it does no I/O, starts nothing and owns no threads. Use one instance per
/// dispatcher. It reads what it needs from the task (<see cref="TaskHandle.Options"/>,
/// <see cref="TaskHandle.SequenceNumber"/>, <see cref="TaskHandle.SubmittedAt"/>).
/// </remarks>
public interface ISchedulingPolicy
{
    /// <summary>Gets the number of tasks in the queue.</summary>
    int Count { get; }

    /// <summary>Adds a ready task.</summary>
    /// <param name="task">The task; never one already in the queue.</param>
    void Enqueue(TaskHandle task);

    /// <summary>Removes and returns the task that should run next.</summary>
    /// <param name="task">The next task, when there is one.</param>
    /// <returns><see langword="false"/> when the queue is empty.</returns>
    bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task);

    /// <summary>Removes a task that will not run any more (cancelled while waiting).</summary>
    /// <param name="task">The task to remove.</param>
    /// <returns><see langword="true"/> when the task was in the queue.</returns>
    bool Remove(TaskHandle task);
}
