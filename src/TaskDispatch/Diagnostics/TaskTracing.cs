using System.Diagnostics;

namespace TaskDispatch;

/// <summary>The dispatcher's activities: one per task under the submitter's, one per attempt under the task's. Nothing
/// is created unless someone listens to <see cref="TaskDispatchTracing.SourceName"/>.</summary>
internal static class TaskTracing
{
    internal static void TraceAccepted(TaskHandle handle, string dispatcherName)
    {
        if (!TaskDispatchTracing.Source.HasListeners())
        {
            return;
        }

        var activity = TaskDispatchTracing.StartDetached(TaskDispatchTracing.TaskActivityName, ActivityKind.Producer, Activity.Current?.Context ?? default);
        if (activity is null)
        {
            return;
        }

        activity.DisplayName = $"task {handle.Kind}";
        activity.SetTag(TaskDispatchTracing.TaskIdTag, handle.Id);
        activity.SetTag(TaskDispatchTracing.TaskKindTag, handle.Kind);
        activity.SetTag(TaskDispatchMetrics.DispatcherTag, dispatcherName);
        handle.TraceActivity = activity;
    }

    /// <summary>Notes why a traced task went to its node; called by the scheduler step that placed it.</summary>
    internal static void TracePlacement(TaskHandle task, string allocationName, NodeSnapshot node, int candidates)
    {
        if (task.TraceActivity is not null)
        {
            task.PlacementReason = $"{allocationName} chose {node.Name} among {candidates} eligible node(s)";
        }
    }

    /// <summary>Starts an attempt's activity under its task's and makes it current for the work.</summary>
    internal static void TraceAttemptStarted(TaskHandle task, TaskContext context)
    {
        if (task.TraceActivity is not { } parent)
        {
            return;
        }

        var activity = TaskDispatchTracing.Source.StartActivity(TaskDispatchTracing.AttemptActivityName, ActivityKind.Consumer, parent.Context);
        if (activity is null)
        {
            return;
        }

        activity.DisplayName = $"attempt {context.Attempt} of {task.Kind}";
        activity.SetTag(TaskDispatchTracing.TaskIdTag, task.Id);
        activity.SetTag(TaskDispatchTracing.AttemptTag, context.Attempt);
        activity.SetTag(TaskDispatchMetrics.NodeTag, context.NodeName);
        activity.SetTag(TaskDispatchTracing.PlacementTag, task.PlacementReason);
        context.Activity = activity;
    }

    /// <summary>Ends an attempt's activity with its outcome and, after a failure, the recovery decision.</summary>
    internal static void TraceAttemptEnded(TaskContext context, string outcome, Exception? error, string? recovery)
    {
        if (context.Activity is not { } activity)
        {
            return;
        }

        activity.SetTag(TaskDispatchMetrics.OutcomeTag, outcome);
        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.AddException(error);
        }

        if (recovery is not null)
        {
            activity.SetTag(TaskDispatchTracing.RecoveryTag, recovery);
        }

        // The worker made it current for the work; once it stops, the worker's flow has no activity again.
        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = ReferenceEquals(previous, activity) ? null : previous;
    }

    /// <summary>Ends a task's activity with its outcome.</summary>
    internal static void TraceFinished(TaskHandle task, TaskState terminal)
    {
        if (task.TraceActivity is not { } activity)
        {
            return;
        }

        activity.SetTag(TaskDispatchMetrics.OutcomeTag, TaskDispatchMetrics.OutcomeName(terminal));
        activity.SetTag(TaskDispatchTracing.AttemptTag, task.Attempts);
        if (terminal == TaskState.Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error, task.Exception?.Message);
        }

        TaskDispatchTracing.StopDetached(activity);
    }
}
