namespace TaskDispatch;

/// <summary>How a node runs an attempt. Without one, a node runs the task's work in this process, on the thread pool.</summary>
/// <remarks>
/// An executor can run the work somewhere else (a child process, a remote service), wrap it (a sandbox, a lease, a
/// per-node rate limit), or both: <see cref="NodeAttempt.RunLocallyAsync"/> runs the task's own work here, and
/// <see cref="NodeAttempt.SetResult{TResult}"/> hands back a result produced elsewhere. The dispatcher treats whatever
/// the executor throws as the attempt's failure, so retries and recovery apply unchanged. It honours the attempt's
/// <see cref="TaskContext.CancellationToken"/> like any work should.
/// </remarks>
public interface INodeExecutor
{
    /// <summary>Runs one attempt on the node.</summary>
    /// <param name="attempt">The attempt: its task, context, node and input.</param>
    /// <returns>A task that completes when the attempt has finished; a fault is the attempt's failure.</returns>
    ValueTask ExecuteAsync(NodeAttempt attempt);
}
