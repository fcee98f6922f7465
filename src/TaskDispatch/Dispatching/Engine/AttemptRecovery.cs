using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>Carries out what follows a failed attempt: records the failure, asks the recovery policy, and ends the task
/// or readies its retry (at once, or on a timer); and gives up attempts whose node failed or went silent.</summary>
internal sealed class AttemptRecovery(IRecoveryPolicy policy, Scheduler scheduler, TaskCounters counters, TimeProvider timeProvider, ILogger logger)
{
    private readonly IRecoveryPolicy _policy = policy;
    private readonly Scheduler _scheduler = scheduler;
    private readonly TaskCounters _counters = counters;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly ILogger _logger = logger;

    /// <summary>Gives up a running attempt whose node failed: its token is cancelled, its outcome will be ignored, and
    /// the task is recovered at once as after a node fault, while the attempt may still hold its slot.</summary>
    internal void AbandonAttempt(TaskContext context, NodeFailureException error)
    {
        if (!context.TryConclude())
        {
            return;
        }

        context.Abandon();
        _counters.CountAbandoned(context.NodeName);
        Log.AttemptAbandoned(_logger, context.TaskId, context.Attempt, context.NodeName, error.Message);
        context.Node.Breaker?.OnAttemptEnded(error, context.IsProbe);
        if (context.Handle.IsCancellationRequested)
        {
            var (state, stopError) = context.Handle.StopOutcome();
            TaskTracing.TraceAttemptEnded(context, "abandoned", error, null);
            context.Handle.TryFinishAttempt(context, state, stopError);
            return;
        }

        if (ConcludeFailure(context, error))
        {
            _scheduler.PostReady(context.Handle);
        }
    }

    /// <summary>Records a failed attempt, asks the recovery policy, and ends the task or moves it to Retrying.</summary>
    /// <returns>Whether the task should be queued again at once.</returns>
    internal bool ConcludeFailure(TaskContext context, Exception error)
    {
        var task = context.Handle;
        var node = context.Node;
        var attempt = context.Attempt;
        var failedAt = _timeProvider.GetUtcNow();
        var isNodeFault = NodeFailureException.IsNodeFault(error);
        task.RecordFailure(new AttemptFailure(attempt, node.Name, error, failedAt, isNodeFault));
        _counters.CountAttemptFailure(node.Name, error, isNodeFault);

        var decision = RecoveryDecision.GiveUp;
        try
        {
            decision = _policy.Decide(new RecoveryContext(task, attempt, error, node.Name, failedAt, isNodeFault, task.NodeFaults));
        }
        catch (Exception exception)
        {
            Log.RecoveryPolicyFailed(_logger, task.Id, exception);
        }

        if (context.Activity is not null)
        {
            TaskTracing.TraceAttemptEnded(
                context,
                context.IsAbandoned ? "abandoned" : "failed",
                error,
                Describe(decision));
        }

        if (!decision.ShouldRetry)
        {
            task.TryFinishAttempt(context, TaskState.Failed, error);
            return false;
        }

        // Where the retry runs is the policy's call: elsewhere keeps the task off this node (while another node could
        // run it), the same node pins it there (while the node exists), anywhere lifts a pin.
        switch (decision.Placement)
        {
            case RetryPlacement.OtherNode:
                task.PinnedNode = null;
                if (Array.IndexOf(task.ExcludedNodes ?? [], node) < 0)
                {
                    task.ExcludedNodes = [.. task.ExcludedNodes ?? [], node];
                }

                break;
            case RetryPlacement.SameNode:
                task.PinnedNode = node;
                break;
            default:
                task.PinnedNode = null;
                break;
        }

        if (!task.TryRetryAttempt(context))
        {
            return false;
        }

        _counters.CountRestart(error, isNodeFault);

        // A stop that came while the policy decided found the task Running and at most cancelled a token. It set the
        // flag before reading the state; we changed the state before reading the flag: one of us ends the task.
        if (task.IsCancellationRequested)
        {
            task.TryFinishStopped();
            return false;
        }

        // Logged once the retry is certain; the final failure is logged once, with its exception, when the task ends
        // (OutcomeRecorder).
        Log.AttemptRetrying(_logger, task.Id, attempt, node.Name, error, decision.Delay);

        if (decision.Delay > TimeSpan.Zero)
        {
            // The retry is due at failure time + delay, however long it took to get here; a custom policy may ask for
            // more than a timer can wait, and then waits the longest a timer can.
            var delay = decision.Delay > TaskDispatcherDefaults.MaxDelay ? TaskDispatcherDefaults.MaxDelay : decision.Delay;
            task.SetReadyTimer(DueTimer.Start(_timeProvider, TaskIntake.OnReadyTimer, task, failedAt + delay));
            return false;
        }

        return true;
    }


    /// <summary>Concludes the attempt of a replayed task that was running when its process stopped, as a node fault:
    /// recorded, counted, and decided by the recovery policy.</summary>
    /// <returns>Whether the task should be queued at once; otherwise it ended or waits on a retry timer.</returns>
    internal bool ConcludeInterrupted(TaskHandle task, string nodeName)
    {
        var attempt = task.Attempts;
        var failedAt = _timeProvider.GetUtcNow();
        var error = new NodeFailureException($"Attempt {attempt} of task '{task.Id}' was running on node '{nodeName}' when its process stopped.") { NodeName = nodeName };
        task.RecordFailure(new AttemptFailure(attempt, nodeName, error, failedAt, isNodeFault: true));
        _counters.CountAttemptFailure(nodeName, error, isNodeFault: true);
        var decision = RecoveryDecision.GiveUp;
        try
        {
            decision = _policy.Decide(new RecoveryContext(task, attempt, error, nodeName, failedAt, isNodeFault: true, task.NodeFaults));
        }
        catch (Exception exception)
        {
            Log.RecoveryPolicyFailed(_logger, task.Id, exception);
        }

        if (!decision.ShouldRetry)
        {
            task.TryFinish(TaskState.Failed, error);
            return false;
        }

        Log.AttemptRetrying(_logger, task.Id, attempt, nodeName, error, decision.Delay);
        _counters.CountRestart(error, isNodeFault: true);
        if (decision.Delay <= TimeSpan.Zero)
        {
            return true;
        }

        var delay = decision.Delay > TaskDispatcherDefaults.MaxDelay ? TaskDispatcherDefaults.MaxDelay : decision.Delay;
        task.SetReadyTimer(DueTimer.Start(_timeProvider, TaskIntake.OnReadyTimer, task, failedAt + delay));
        return false;
    }

    /// <summary>The recovery decision as the attempt's activity shows it.</summary>
    private static string Describe(RecoveryDecision decision) => !decision.ShouldRetry
        ? "give up"
        : decision.Placement switch
        {
            RetryPlacement.OtherNode => $"fail over to another node after {decision.Delay}",
            RetryPlacement.SameNode => $"retry on the same node after {decision.Delay}",
            _ => $"retry after {decision.Delay}",
        };
}
