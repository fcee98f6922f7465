namespace TaskDispatch;

/// <summary>What a running task knows about its attempt: cancellation, attempt number, node, services and progress.</summary>
public sealed class TaskContext
{
    private readonly TaskHandle _task;

    internal TaskContext(TaskHandle task)
    {
        _task = task;
    }

    /// <summary>Gets the task's id.</summary>
    public string TaskId => _task.Id;

    /// <summary>Gets the options the task was submitted with.</summary>
    public TaskOptions Options => _task.Options;

    /// <summary>Gets the number of this attempt, from 1.</summary>
    public int Attempt { get; internal set; }

    /// <summary>Gets the name of the node running this attempt.</summary>
    public string NodeName { get; internal set; } = string.Empty;

    /// <summary>Gets the token cancelled when the task is cancelled, its attempt times out or the dispatcher stops.</summary>
    /// <remarks>The token's source is created on first read, so work that never looks at it costs no allocation for it.</remarks>
    public CancellationToken CancellationToken => _task.GetAttemptToken();

    /// <summary>Gets the services of this attempt: a scope of its own for handler tasks; the dispatcher's provider, if any, otherwise.</summary>
    public IServiceProvider? Services { get; internal set; }

    /// <summary>Gets the dispatcher's clock, to wait or read time the way the dispatcher does.</summary>
    public TimeProvider TimeProvider => _task.Dispatcher.TimeProvider;

    /// <summary>Gets the dispatcher running the task, to submit follow-up work; such submissions are never held back by the pending bound.</summary>
    public ITaskDispatcher Dispatcher => _task.Dispatcher;

    /// <summary>Gets the task this context belongs to.</summary>
    internal TaskHandle Handle => _task;

    /// <summary>Gets the dispatcher that runs the task.</summary>
    internal TaskDispatcher Owner => _task.Dispatcher;

    /// <summary>Reports progress; the submitter sees it on <see cref="TaskHandle.Progress"/> and <see cref="TaskHandle.ProgressChanged"/>.</summary>
    /// <param name="fraction">How much is done, from 0 to 1.</param>
    /// <param name="message">An optional description of the current step.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="fraction"/> is not a number in [0, 1].</exception>
    public void ReportProgress(double fraction, string? message = null) =>
        _task.ReportProgress(new TaskProgress(fraction, message, Attempt));
}
