namespace TaskDispatch;

/// <summary>A task submitted to a cluster: it completes when whichever member runs the task ends it, as that member's
/// acknowledgement is committed. <c>await handle.Completion</c> throws what the task ended with.</summary>
public abstract class ClusterTaskHandle
{
    private readonly Lock _gate = new();
    private int _state = (int)TaskState.Pending;
    private int _stored;

    // What the handle ended with, for followers that come after its end; and the followers waiting for it (handles of
    // later submissions of the same id by this member).
    private (TaskState State, string? Result, string? Error, string? ErrorType, Exception? Failure) _outcome;
    private List<ClusterTaskHandle>? _followers;

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

    /// <summary>Ends the handle with what the store recorded, and its followers with it; only the first call counts.</summary>
    internal bool Complete(TaskState state, string? resultJson, string? error, string? errorType) =>
        End((state, resultJson, error, errorType, null));

    /// <summary>Ends the handle, and its followers, with an error of this process (the submission could not be
    /// written, the member stopped, the task's row is gone).</summary>
    internal void Fail(Exception exception) => End((TaskState.Failed, null, null, null, exception));

    /// <summary>Makes <paramref name="follower"/>, the handle of a later submission of the same id by this member, end as
    /// this one ends (at once if it has): the member awaits each id once.</summary>
    internal void AddFollower(ClusterTaskHandle follower)
    {
        lock (_gate)
        {
            if (_state == (int)TaskState.Pending)
            {
                (_followers ??= []).Add(follower);
                return;
            }
        }

        follower.End(_outcome);
    }

    /// <summary>Takes the followers away, for a handle that stops being awaited without ending (its submission failed):
    /// they are awaited in its place.</summary>
    internal List<ClusterTaskHandle> DetachFollowers()
    {
        lock (_gate)
        {
            var followers = _followers ?? [];
            _followers = null;
            return followers;
        }
    }

    private bool End((TaskState State, string? Result, string? Error, string? ErrorType, Exception? Failure) outcome)
    {
        List<ClusterTaskHandle>? followers;
        lock (_gate)
        {
            if (_state != (int)TaskState.Pending)
            {
                return false;
            }

            _outcome = outcome;
            followers = _followers;
            _followers = null;
            Volatile.Write(ref _state, (int)outcome.State);
        }

        if (outcome.Failure is { } failure)
        {
            SetFailed(failure);
        }
        else
        {
            switch (outcome.State)
            {
                case TaskState.Completed:
                    SetResult(outcome.Result);
                    break;
                case TaskState.Cancelled:
                    SetCancelled();
                    break;
                default:
                    SetFailed(new RecordedTaskException(outcome.Error ?? "The task failed without a recorded error.") { ErrorType = outcome.ErrorType });
                    break;
            }
        }

        foreach (var follower in followers ?? [])
        {
            follower.End(outcome);
        }

        return true;
    }

    private protected abstract void SetResult(string? resultJson);

    private protected abstract void SetCancelled();

    private protected abstract void SetFailed(Exception exception);
}
