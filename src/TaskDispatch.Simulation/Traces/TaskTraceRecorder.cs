namespace TaskDispatch.Simulation;

/// <summary>Records a <see cref="TaskTrace"/> from a live dispatcher: register it as an observer
/// (<c>builder.AddObserver(recorder)</c>), let the dispatcher work, then take <see cref="ToTrace"/> and simulate the
/// same work under other policies. Each task that completed or failed is recorded with its arrival (when it became
/// ready to run), kind, options and the duration of its last attempt.</summary>
/// <remarks>It holds one small record per ended task, up to its capacity, and a start time per running task. The
/// dispatcher calls it on its observer consumer, off the path of submitting and running work; but any observer makes the
/// dispatcher queue every state change for that consumer, and a task's handle completes only once the consumer has
/// handled its end.</remarks>
public sealed class TaskTraceRecorder : ITaskObserver
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TaskHandle, DateTimeOffset> _attemptStarts = new(ReferenceEqualityComparer.Instance);
    private readonly List<(DateTimeOffset ReadyAt, TimeSpan Duration, string Kind, TaskOptions Options, TaskState Outcome)> _ended = [];
    private readonly int _capacity;
    private long _notRecorded;

    /// <summary>Initializes a new instance of the <see cref="TaskTraceRecorder"/> class.</summary>
    /// <param name="capacity">The most tasks recorded: the first so many to end; those that end later are counted in
    /// <see cref="NotRecorded"/>. At least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    public TaskTraceRecorder(int capacity = 1_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>Gets how many tasks are recorded.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _ended.Count;
            }
        }
    }

    /// <summary>Gets how many ended tasks were not recorded: cancelled (before or while they ran), ended without
    /// running, or past the capacity.</summary>
    public long NotRecorded
    {
        get
        {
            lock (_gate)
            {
                return _notRecorded;
            }
        }
    }

    /// <inheritdoc />
    void ITaskObserver.OnStateChanged(TaskStateChange change)
    {
        if (change.State == TaskState.Running)
        {
            lock (_gate)
            {
                _attemptStarts[change.Task] = change.Timestamp;
            }
        }
    }

    /// <inheritdoc />
    void ITaskObserver.OnCompleted(TaskHandle task)
    {
        lock (_gate)
        {
            var ran = _attemptStarts.Remove(task, out var started);
            if (!ran || task.State is not (TaskState.Completed or TaskState.Failed) || task.EndedAt is not { } ended || _ended.Count >= _capacity)
            {
                _notRecorded++;
                return;
            }

            _ended.Add((task.ReadyAt, ended - started, task.Kind, task.Options, task.State));
        }
    }

    /// <summary>Takes the trace recorded so far: the tasks in arrival order, arrivals counted from the first. A task's
    /// arrival is when it became ready to run (its submission, or its <see cref="TaskOptions.NotBefore"/> or
    /// <see cref="TaskOptions.Delay"/>), and its deadline counts from there.</summary>
    /// <returns>The trace.</returns>
    public TaskTrace ToTrace()
    {
        lock (_gate)
        {
            var first = _ended.Count == 0 ? default : _ended.Min(entry => entry.ReadyAt);
            return new TaskTrace(_ended.Select(entry => new TraceRecord
            {
                Arrival = entry.ReadyAt - first,
                Duration = entry.Duration,
                Kind = entry.Kind,
                Priority = entry.Options.Priority,
                Deadline = entry.Options.Deadline - entry.ReadyAt,
                FairnessKey = entry.Options.FairnessKey,
                EstimatedDuration = entry.Options.EstimatedDuration,
                RequiredNode = entry.Options.RequiredNode,
                RequiredTags = entry.Options.RequiredTags?.ToArray(),
                ResourceDemand = entry.Options.ResourceDemand is { } demand ? new Dictionary<string, double>(demand, StringComparer.Ordinal) : null,
                MaxRetryAttempts = entry.Options.MaxRetryAttempts,
                Timeout = entry.Options.Timeout,
                Outcome = entry.Outcome,
            }));
        }
    }
}
