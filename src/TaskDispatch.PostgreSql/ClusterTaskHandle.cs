namespace TaskDispatch;

/// <summary>A task submitted to a cluster: it completes when whichever member runs the task ends it, as that member's
/// acknowledgement is committed. <c>await handle.Completion</c> throws what the task ended with.</summary>
public abstract class ClusterTaskHandle
{
    private int _state = (int)TaskState.Pending;
    private int _stored;

    private protected ClusterTaskHandle(string id) => Id = id;

    /// <summary>Gets the task's id, the same in every member: look the task up or cancel it by it from any process.</summary>
    public string Id { get; }

    /// <summary>Gets <see cref="TaskState.Pending"/> until the task ends, then its terminal state.</summary>
    public TaskState State => (TaskState)Volatile.Read(ref _state);

    /// <summary>Gets a task that completes when the task ends: with its result, or faulted with a
    /// <see cref="RecordedTaskException"/> carrying the error a member recorded, or cancelled.</summary>
    public Task Completion => UntypedCompletion;

    private protected abstract Task UntypedCompletion { get; }

    /// <summary>Gets whether the task's row is known to be committed (this member wrote it, or found the id taken by a
    /// task already there): from then on, a row that is missing was pruned.</summary>
    internal bool Stored => Volatile.Read(ref _stored) == 1;

    /// <summary>Records that the task's row is committed.</summary>
    internal void MarkStored() => Volatile.Write(ref _stored, 1);

    /// <summary>Ends the handle with what the store recorded; only the first call counts.</summary>
    internal bool Complete(TaskState state, string? resultJson, string? error, string? errorType)
    {
        if (Interlocked.CompareExchange(ref _state, (int)state, (int)TaskState.Pending) != (int)TaskState.Pending)
        {
            return false;
        }

        switch (state)
        {
            case TaskState.Completed:
                SetResult(resultJson);
                break;
            case TaskState.Cancelled:
                SetCancelled();
                break;
            default:
                SetFailed(new RecordedTaskException(error ?? "The task failed without a recorded error.") { ErrorType = errorType });
                break;
        }

        return true;
    }

    /// <summary>Ends the handle with an error of this process (the submission could not be written).</summary>
    internal void Fail(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _state, (int)TaskState.Failed, (int)TaskState.Pending) == (int)TaskState.Pending)
        {
            SetFailed(exception);
        }
    }

    private protected abstract void SetResult(string? resultJson);

    private protected abstract void SetCancelled();

    private protected abstract void SetFailed(Exception exception);
}
