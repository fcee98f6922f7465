using Quartz;

namespace TaskDispatch.Benchmarks.External;

/// <summary>
/// The job Quartz runs. Quartz builds a new instance for every firing (with a public parameterless constructor and no
/// container registration, its default factory skips the per-job service scope), so the countdown comes from the
/// scheduler's context rather than from the instance.
/// </summary>
public sealed class QuartzSignalJob : IJob
{
    /// <summary>The <see cref="IScheduler.Context"/> key of the countdown to signal.</summary>
    internal const string CountdownKey = "completion-countdown";

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ((CompletionCountdown)context.Scheduler.Context[CountdownKey]!).Signal();
        return ValueTask.CompletedTask;
    }
}
