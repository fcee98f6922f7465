using Quartz;

namespace TaskDispatch.Benchmarks;

/// <summary>
/// The job Quartz runs in <see cref="LatencyBenchmark"/>: the task's index travels in the job's
/// <see cref="JobDataMap"/>, the arrays it records into are reached through <see cref="LatencyJobs"/>.
/// </summary>
public sealed class LatencyQuartzJob : IJob
{
    /// <summary>The <see cref="JobDataMap"/> key of the task's index.</summary>
    internal const string IndexKey = "index";

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        LatencyJobs.Run(context.JobDetail.JobDataMap.GetInt(IndexKey));
        return ValueTask.CompletedTask;
    }
}
