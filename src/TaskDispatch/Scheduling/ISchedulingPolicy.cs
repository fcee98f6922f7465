using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Orders the ready queue: decides which waiting task runs next.</summary>
/// <remarks>
/// Only the dispatcher's scheduler calls a policy, one call at a time and never concurrently, so an implementation needs no locks.
/// A policy is a pure decision component: it does no I/O, starts nothing and owns no threads. Use one instance per
/// dispatcher. It reads what it needs from the task (<see cref="TaskHandle.Options"/>,
/// <see cref="TaskHandle.SequenceNumber"/>, <see cref="TaskHandle.SubmittedAt"/>).
/// <para>What a throw costs: where a call concerns one task, only that task is affected. An exception from
/// <see cref="Enqueue"/> fails the task being enqueued; one from <see cref="Remove"/> is logged (the task has already
/// ended, and the dispatcher skips it if <see cref="TryDequeue"/> returns it later); one from
/// <see cref="ILearningSchedulingPolicy.OnAttemptSucceeded"/> is logged and the task stays completed. An exception from
/// <see cref="TryDequeue"/> concerns no known task and leaves the queue's content unknown, so it faults the dispatcher:
/// every live task fails with it, running attempts have their tokens cancelled, new submissions are refused, and
/// <see cref="ITaskDispatcher.StopAsync"/> still returns within its timeout.</para>
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
