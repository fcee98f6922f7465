using System.Diagnostics;

namespace TaskDispatch;

/// <summary>The dispatcher's <see cref="System.Diagnostics.ActivitySource"/>: one activity per task, from submission to
/// its end, as a child of the submitter's activity; and one child activity per attempt, current while the work runs, so
/// the work's own spans nest under it. Listen with OpenTelemetry (<c>AddSource("TaskDispatch")</c>) or an <c>ActivityListener</c>.</summary>
public static class TaskDispatchTracing
{
    /// <summary>The activity source's name: <c>TaskDispatch</c>.</summary>
    public const string SourceName = "TaskDispatch";

    /// <summary>The operation name of a task's activity.</summary>
    public const string TaskActivityName = "taskdispatch.task";

    /// <summary>The operation name of an attempt's activity.</summary>
    public const string AttemptActivityName = "taskdispatch.attempt";

    /// <summary>Tag: the task's id.</summary>
    public const string TaskIdTag = "taskdispatch.task.id";

    /// <summary>Tag: the task's kind.</summary>
    public const string TaskKindTag = "taskdispatch.task.kind";

    /// <summary>Tag: the attempt's number, from 1.</summary>
    public const string AttemptTag = "taskdispatch.attempt.number";

    /// <summary>Tag: why the attempt went to its node: the strategy and how many nodes it chose from.</summary>
    public const string PlacementTag = "taskdispatch.placement";

    /// <summary>Tag: what the recovery policy decided after the attempt failed (retry and when, fail over, or give up).</summary>
    public const string RecoveryTag = "taskdispatch.recovery";

    internal static readonly ActivitySource Source = new(SourceName, typeof(TaskDispatchTracing).Assembly.GetName().Version?.ToString());

    /// <summary>Starts an activity under <paramref name="parent"/> without making it current on this thread.</summary>
    internal static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent)
    {
        var previous = Activity.Current;
        var activity = Source.StartActivity(name, kind, parent);
        Activity.Current = previous;
        return activity;
    }

    /// <summary>Stops an activity without disturbing the current activity of this thread.</summary>
    internal static void StopDetached(Activity activity)
    {
        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = previous;
    }
}
