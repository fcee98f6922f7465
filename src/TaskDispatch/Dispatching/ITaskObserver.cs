namespace TaskDispatch;

/// <summary>Hears about every task of a dispatcher. Register one with the dispatcher's builder.</summary>
/// <remarks>
/// Calls are made synchronously on the dispatcher's threads: keep them short and non-blocking. An exception thrown
/// by an observer is logged and swallowed; it never changes a task's outcome.
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
