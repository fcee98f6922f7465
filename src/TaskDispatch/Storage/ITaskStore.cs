namespace TaskDispatch;

/// <summary>A durable home for a dispatcher's tasks, so that no accepted task is lost when the process dies: every
/// accepted task is written before its submission returns, every attempt's start and every end are recorded, and on
/// start the dispatcher replays what had not ended.</summary>
/// <remarks>
/// Without a store (the default) the dispatcher keeps everything in memory and pays nothing for this seam. With one, only
/// handler tasks can be submitted (a delegate cannot be stored): they name a handler type and carry their input as JSON.
/// The dispatcher calls <see cref="OpenAsync"/> once, before it accepts work, and the other members from many threads at
/// once, so an implementation must be thread-safe. Writes of one task arrive in order (add, starts, end); an
/// implementation may batch writes of many tasks into one commit, which is what makes durable submission cheap.
/// </remarks>
public interface ITaskStore
{
    /// <summary>Opens the store and returns what the dispatcher must pick up: the tasks that had not ended, the latest
    /// ended ones within retention, and the last arrival number given.</summary>
    /// <param name="retention">How long ended tasks are kept; older ones may be compacted away.</param>
    /// <param name="maxEnded">How many of the latest ended tasks to return at most.</param>
    /// <param name="cancellationToken">Cancels the opening.</param>
    /// <returns>The store's contents.</returns>
    ValueTask<TaskStoreContents> OpenAsync(TimeSpan retention, int maxEnded, CancellationToken cancellationToken);

    /// <summary>Writes an accepted task, replacing an ended task with the same id (a resubmission); when the returned
    /// task completes, the task survives a crash of the process. The dispatcher checks idempotent ids before adding.</summary>
    /// <param name="task">The task.</param>
    /// <param name="cancellationToken">Cancels the wait, not necessarily the write.</param>
    /// <returns>A task that completes when the task is durable.</returns>
    ValueTask AddAsync(StoredTask task, CancellationToken cancellationToken);

    /// <summary>Records that an attempt is about to start; the dispatcher runs the attempt only once the returned task
    /// completes, so that a restart counts every attempt that may have run (and a task that kills its process each time
    /// reaches its attempt limit instead of looping). Written after the task's <see cref="AddAsync"/> and before its
    /// <see cref="EndAsync"/>.</summary>
    /// <param name="taskId">The task's id.</param>
    /// <param name="sequenceNumber">The task's arrival number: with the id, it names this submission of the task, so that
    /// a write about an earlier task with the same id never touches a later one.</param>
    /// <param name="attempt">The attempt's number, from 1.</param>
    /// <param name="nodeName">The node it runs on.</param>
    /// <param name="startedAt">When it started.</param>
    /// <param name="failures">The task's failed attempts so far, every one of them (empty for a first attempt), so that
    /// a restart knows each earlier attempt's error.</param>
    /// <param name="cancellationToken">Cancels the wait, not necessarily the write.</param>
    /// <returns>A task that completes when the start is durable.</returns>
    ValueTask AttemptStartedAsync(string taskId, long sequenceNumber, int attempt, string nodeName, DateTimeOffset startedAt, IReadOnlyList<StoredAttemptFailure> failures, CancellationToken cancellationToken);

    /// <summary>Records a task's end (the row with <see cref="TaskOutcome.TaskId"/> and
    /// <see cref="TaskOutcome.SequenceNumber"/>, and no other); when the returned task completes, the outcome survives a crash of the process.
    /// The dispatcher completes the task's awaitable only after that.</summary>
    /// <param name="outcome">The outcome.</param>
    /// <param name="cancellationToken">Cancels the wait, not necessarily the write.</param>
    /// <returns>A task that completes when the outcome is durable.</returns>
    ValueTask EndAsync(TaskOutcome outcome, CancellationToken cancellationToken);

    /// <summary>Records that a stop of the dispatcher left the task unfinished, for the next start, with
    /// <paramref name="concludedAttempts"/> attempts concluded: none of them is running any more, so the next start does
    /// not count one as interrupted (a graceful stop costs no retry).</summary>
    /// <param name="taskId">The task's id.</param>
    /// <param name="sequenceNumber">The task's arrival number.</param>
    /// <param name="concludedAttempts">The attempts the task had started, all concluded.</param>
    /// <param name="failures">The task's failed attempts so far.</param>
    /// <param name="cancellationToken">Cancels the wait, not necessarily the write.</param>
    /// <returns>A task that completes when the mark is durable.</returns>
    ValueTask LeftUnfinishedAsync(string taskId, long sequenceNumber, int concludedAttempts, IReadOnlyList<StoredAttemptFailure> failures, CancellationToken cancellationToken);

    /// <summary>Finds a task by id, live or ended within retention.</summary>
    /// <param name="taskId">The task's id.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The stored task with its outcome if it ended, or <see langword="null"/> if the store has no such task.</returns>
    ValueTask<StoredTask?> FindAsync(string taskId, CancellationToken cancellationToken);
}
