using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>Accepts tasks, schedules them by its policy, runs them on its nodes and reports their outcome.</summary>
/// <remarks>Every member is thread-safe. Every accepted task reaches exactly one terminal state.</remarks>
public interface ITaskDispatcher : IAsyncDisposable
{
    /// <summary>Gets the dispatcher's name, unique within a service container.</summary>
    string Name { get; }

    /// <summary>Gets the dispatcher's nodes.</summary>
    IReadOnlyList<NodeSnapshot> Nodes { get; }

    /// <summary>Gets where running tasks' checkpoints are kept (see <see cref="TaskContext.SaveCheckpointBytesAsync(ReadOnlyMemory{byte}, CancellationToken)"/>).</summary>
    ICheckpointStore Checkpoints { get; }

    /// <summary>Gets the tasks that ended <see cref="TaskState.Failed"/>, to inspect and resubmit.</summary>
    DeadLetterList DeadLetters { get; }

    /// <summary>Gets the number of accepted tasks that have not yet reached a terminal state.</summary>
    long LiveTaskCount { get; }

    /// <summary>Submits work without a result.</summary>
    /// <param name="work">The work; it receives the attempt's context.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels only the wait for room when the dispatcher is full; cancel the task itself with <see cref="TaskOptions.CancellationToken"/> or <see cref="TaskHandle.Cancel"/>.</param>
    /// <returns>The task's handle, once accepted.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> is invalid or no node could ever run the task.</exception>
    /// <exception cref="TaskRejectedException">Thrown when the dispatcher is full and rejects instead of waiting.</exception>
    /// <exception cref="InvalidOperationException">Thrown when the dispatcher is stopping.</exception>
    /// <exception cref="ObjectDisposedException">Thrown when the dispatcher has stopped.</exception>
    ValueTask<TaskHandle> SubmitAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Submits work that produces a result.</summary>
    /// <typeparam name="TResult">The result.</typeparam>
    /// <param name="work">The work; it receives the attempt's context.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels only the wait for room when the dispatcher is full.</param>
    /// <returns>The task's handle, once accepted; <c>await</c> it for the result.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> is invalid or no node could ever run the task.</exception>
    /// <exception cref="TaskRejectedException">Thrown when the dispatcher is full and rejects instead of waiting.</exception>
    /// <exception cref="InvalidOperationException">Thrown when the dispatcher is stopping, or a live task with the same id has another result type.</exception>
    /// <exception cref="ObjectDisposedException">Thrown when the dispatcher has stopped.</exception>
    ValueTask<TaskHandle<TResult>> SubmitAsync<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Submits a task run by <typeparamref name="THandler"/>, resolved from dependency injection in a fresh scope for every attempt.</summary>
    /// <typeparam name="THandler">The handler; resolved from the scope, or created with its constructor dependencies if it is not registered.</typeparam>
    /// <typeparam name="TInput">The handler's input.</typeparam>
    /// <typeparam name="TResult">The handler's result.</typeparam>
    /// <param name="input">The input.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels only the wait for room when the dispatcher is full.</param>
    /// <returns>The task's handle, once accepted.</returns>
    /// <exception cref="InvalidOperationException">Thrown when the dispatcher has no service provider, or is stopping.</exception>
    ValueTask<TaskHandle<TResult>> SubmitAsync<THandler, TInput, TResult>(TInput input, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>;

    /// <summary>Submits work without a result if there is room now; never waits.</summary>
    /// <param name="work">The work.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="handle">The task's handle, when accepted.</param>
    /// <returns><see langword="false"/> when the dispatcher is full.</returns>
    bool TrySubmit(Func<TaskContext, ValueTask> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle? handle);

    /// <summary>Submits work that produces a result if there is room now; never waits.</summary>
    /// <typeparam name="TResult">The result.</typeparam>
    /// <param name="work">The work.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="handle">The task's handle, when accepted.</param>
    /// <returns><see langword="false"/> when the dispatcher is full.</returns>
    bool TrySubmit<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options, [NotNullWhen(true)] out TaskHandle<TResult>? handle);

    /// <summary>Runs work and returns its result: one await from submission to outcome, with no handle to keep.</summary>
    /// <typeparam name="TResult">The result.</typeparam>
    /// <param name="work">The work; it receives the attempt's context.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels only the wait for room when the dispatcher is full.</param>
    /// <returns>The result, once the task has completed; the task's exception when it failed;
    /// <see cref="OperationCanceledException"/> when it was cancelled.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> is invalid or no node could ever run the task.</exception>
    ValueTask<TResult> RunAsync<TResult>(Func<TaskContext, ValueTask<TResult>> work, TaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Runs work without a result: one await from submission to outcome, with no handle to keep.</summary>
    /// <param name="work">The work; it receives the attempt's context.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels only the wait for room when the dispatcher is full.</param>
    /// <returns>A task that completes when the work has; it throws the task's exception when it failed and
    /// <see cref="OperationCanceledException"/> when it was cancelled.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> is invalid or no node could ever run the task.</exception>
    ValueTask RunAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Submits work to run in the background, fire and forget, if there is room now; never waits. The dispatcher
    /// keeps nothing for the caller: a failure goes to <see cref="DeadLetters"/>, the log and observers.</summary>
    /// <param name="work">The work; it receives the attempt's context.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <returns><see langword="true"/> when accepted; <see langword="false"/> when the dispatcher is full.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> is invalid or no node could ever run the task.</exception>
    /// <exception cref="InvalidOperationException">Thrown when the dispatcher is stopping.</exception>
    bool Post(Func<TaskContext, ValueTask> work, TaskOptions? options = null);

    /// <summary>Submits work to run in the background, fire and forget, waiting for room when the dispatcher is full (or
    /// rejecting, as <see cref="TaskDispatcherOptions.FullMode"/> says).</summary>
    /// <param name="work">The work; it receives the attempt's context.</param>
    /// <param name="options">How to schedule and run it; <see langword="null"/> for <see cref="TaskOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels only the wait for room.</param>
    /// <returns>A task that completes once the work is accepted (not when it has run).</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="work"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> is invalid or no node could ever run the task.</exception>
    /// <exception cref="TaskRejectedException">Thrown when the dispatcher is full and rejects instead of waiting.</exception>
    ValueTask PostAsync(Func<TaskContext, ValueTask> work, TaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Finds a task by id: a live one, or one that ended within <see cref="TaskDispatcherOptions.OutcomeRetention"/>
    /// (and is among the latest <see cref="TaskDispatcherOptions.MaxRetainedOutcomes"/>), whose handle gives its state,
    /// result or error, attempts and times.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="handle">The handle, when the task is live or retained.</param>
    /// <returns><see langword="false"/> when no such task is known (it never existed, or ended longer ago than the
    /// retention or than the latest kept).</returns>
    bool TryGetHandle(string id, [NotNullWhen(true)] out TaskHandle? handle);

    /// <summary>Submits one handler task per input, all with the same options, and returns their handles once every one
    /// is accepted. With a durable store the tasks are written without waiting for one another, so that they share
    /// commits: the way to submit many durable tasks quickly.</summary>
    /// <typeparam name="THandler">The handler, resolved from the dispatcher's services for each attempt.</typeparam>
    /// <typeparam name="TInput">The handler's input.</typeparam>
    /// <typeparam name="TResult">The handler's result.</typeparam>
    /// <param name="inputs">One input per task.</param>
    /// <param name="options">Every task's options; they must not name an <see cref="TaskOptions.Id"/>.</param>
    /// <param name="cancellationToken">Cancels only waits for room.</param>
    /// <returns>The tasks' handles, in input order. With a durable store, a task that the store failed to write ends
    /// <see cref="TaskState.Failed"/> with the store's error and never runs; the others are accepted.</returns>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="inputs"/> is null.</exception>
    /// <exception cref="ArgumentException">Thrown when <paramref name="options"/> names an id or is invalid.</exception>
    ValueTask<IReadOnlyList<TaskHandle<TResult>>> SubmitManyAsync<THandler, TInput, TResult>(IEnumerable<TInput> inputs, TaskOptions? options = null, CancellationToken cancellationToken = default)
        where THandler : class, ITaskHandler<TInput, TResult>;

    /// <summary>Finds a task by id as <see cref="TryGetHandle"/> does and, in a dispatcher with a durable store, also
    /// among the tasks the store keeps: ones that ended before a restart, or longer ago than the latest kept in memory,
    /// within <see cref="TaskDispatcherOptions.OutcomeRetention"/>.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The task's handle (an ended task's has its state, result or error, attempts and times), or
    /// <see langword="null"/> if no such task is known.</returns>
    ValueTask<TaskHandle?> FindAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Cancels a live task by id, as <see cref="TaskHandle.Cancel"/> does.</summary>
    /// <param name="id">The task's id.</param>
    /// <returns><see langword="true"/> when a live task with that id was asked to cancel.</returns>
    bool Cancel(string id);

    /// <summary>Streams the state changes of every task, from the moment of the call until the dispatcher stops.</summary>
    /// <param name="cancellationToken">Stops the stream early.</param>
    /// <returns>The changes; each task's terminal change appears exactly once.</returns>
    IAsyncEnumerable<TaskStateChange> WatchAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a node while the dispatcher runs; it takes work at once.</summary>
    /// <param name="name">The node's name, unique within the dispatcher.</param>
    /// <param name="configure">Configures the node; validated at once.</param>
    /// <returns>The node's snapshot.</returns>
    /// <exception cref="ArgumentException">Thrown when the name is empty or taken, or the options are invalid.</exception>
    /// <exception cref="InvalidOperationException">Thrown when the dispatcher is stopping.</exception>
    NodeSnapshot AddNode(string name, Action<NodeOptions>? configure = null);

    /// <summary>Sets a node's health: only healthy and degraded nodes get new work. Marking a node
    /// <see cref="NodeHealth.Unavailable"/> gives up its running attempts as node faults (their tasks move to other
    /// nodes); other healths let running attempts finish. Setting a health by hand resets the node's circuit breaker.</summary>
    /// <param name="name">The node's name.</param>
    /// <param name="health">The new health.</param>
    /// <exception cref="ArgumentException">Thrown when no node has that name.</exception>
    /// <remarks>The change takes effect in a scheduler step, between two placement decisions, and the call waits for that
    /// step, so that no placement decided after it returns uses the old health. Steps call observers and policies: do not
    /// call this while holding a lock that an observer or a policy also takes. Called from inside a step (from an
    /// observer or a policy), it does not wait, and the step under way may still place work by the old health.</remarks>
    void SetNodeHealth(string name, NodeHealth health);

    /// <summary>Stops giving a node new work and waits until the tasks it runs have finished; <see cref="SetNodeHealth"/>
    /// with <see cref="NodeHealth.Healthy"/> puts it back to work.</summary>
    /// <param name="name">The node's name.</param>
    /// <param name="cancellationToken">Stops waiting (the node stays draining).</param>
    /// <returns>A task that completes when the node runs nothing.</returns>
    /// <exception cref="ArgumentException">Thrown when no node has that name.</exception>
    Task DrainNodeAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Drains a node, then removes it. Waiting tasks that only it could run fail with
    /// <see cref="InvalidOperationException"/>; no task is stranded.</summary>
    /// <param name="name">The node's name.</param>
    /// <param name="cancellationToken">Stops waiting for the drain (the node stays draining and is not removed).</param>
    /// <returns>A task that completes when the node is gone.</returns>
    /// <exception cref="ArgumentException">Thrown when no node has that name.</exception>
    /// <exception cref="InvalidOperationException">Thrown when it is the last node.</exception>
    Task RemoveNodeAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Takes a point-in-time view of the dispatcher: live tasks, allocation time, and per node the slots in
    /// use, tasks started, busy time and utilisation.</summary>
    /// <returns>The statistics.</returns>
    DispatcherStatistics GetStatistics();

    /// <summary>Stops the dispatcher. Every live task reaches a terminal state before the returned task completes.</summary>
    /// <param name="mode">Drain: finish accepted work. Cancel: cancel it.</param>
    /// <param name="timeout">How long to wait for work; then every live task is forced to <see cref="TaskState.Cancelled"/>. <see langword="null"/> for <see cref="TaskDispatcherOptions.ShutdownTimeout"/>.</param>
    /// <param name="cancellationToken">Cuts the wait short, as if the timeout had passed.</param>
    /// <returns>A task that completes when the dispatcher has stopped.</returns>
    Task StopAsync(ShutdownMode mode = ShutdownMode.Drain, TimeSpan? timeout = null, CancellationToken cancellationToken = default);
}
