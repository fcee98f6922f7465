namespace TaskDispatch;

/// <summary>Hears about every task of a dispatcher. Register one with the dispatcher's builder.</summary>
/// <remarks>
/// Calls are made one at a time, in the order the transitions happened, by one consumer the dispatcher runs for its
/// observers; never on a submitter's thread nor inside a scheduling decision. A slow or blocked observer therefore
/// never holds back submissions, scheduling or running work, but a finished task's awaitable completes only after
/// every observer has heard of its end, so it delays awaiters. An exception thrown by an observer is logged and
/// swallowed; it never changes a task's outcome.
/// </remarks>
public interface ITaskObserver
{
    /// <summary>Called for every state transition of every task, including the terminal one.</summary>
    /// <param name="change">The transition.</param>
    void OnStateChanged(TaskStateChange change);

    /// <summary>Called exactly once per task when it reaches its terminal state, before its handle completes.</summary>
    /// <param name="task">The finished task; its <see cref="TaskHandle.State"/> is terminal.</param>
    void OnCompleted(TaskHandle task);
}
