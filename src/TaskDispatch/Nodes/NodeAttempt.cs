namespace TaskDispatch;

/// <summary>One attempt of a task on a node, as an <see cref="INodeExecutor"/> receives it.</summary>
public readonly struct NodeAttempt
{
    internal NodeAttempt(TaskHandle task, TaskContext context, NodeSnapshot node)
    {
        Task = task;
        Context = context;
        Node = node;
    }

    /// <summary>Gets the task.</summary>
    public TaskHandle Task { get; }

    /// <summary>Gets the attempt's context: its number, cancellation token, services and progress.</summary>
    public TaskContext Context { get; }

    /// <summary>Gets the node running the attempt.</summary>
    public NodeSnapshot Node { get; }

    /// <summary>Gets the input of a handler task (<c>SubmitAsync&lt;THandler, TInput, TResult&gt;</c>), or
    /// <see langword="null"/> for a delegate task, whose work can only run in this process.</summary>
    public object? Input => TaskIntake.InputOf(Task.Work);

    /// <summary>Runs the task's own work here, in this process, as a node without an executor does.</summary>
    /// <returns>A task that completes with the work.</returns>
    public ValueTask RunLocallyAsync() => Task.RunAsync(Context);

    /// <summary>Sets the attempt's result, for work done elsewhere; the task completes with it if the executor returns normally.</summary>
    /// <typeparam name="TResult">The task's result type.</typeparam>
    /// <param name="result">The result.</param>
    /// <exception cref="InvalidOperationException">Thrown when the task has no result of type <typeparamref name="TResult"/>.</exception>
    public void SetResult<TResult>(TResult result)
    {
        if (Task is not TaskHandle<TResult> typed)
        {
            throw new InvalidOperationException($"Task '{Task.Id}' does not produce a {typeof(TResult).Name}.");
        }

        typed.SetAttemptResult(Context, result);
    }
}
