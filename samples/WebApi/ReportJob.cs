using TaskDispatch;

namespace WebApi;

/// <summary>A job a client posts: build a report in <see cref="Steps"/> steps, failing at the end if asked to.</summary>
public sealed record ReportJob(int Steps = 5, int StepMilliseconds = 200, bool Fail = false, int Priority = 0) : ITaskRequest<string>;

/// <summary>Builds the report, reporting progress after each step and honouring cancellation.</summary>
public sealed class ReportJobHandler : ITaskHandler<ReportJob, string>
{
    public async ValueTask<string> HandleAsync(ReportJob input, TaskContext context)
    {
        for (var step = 1; step <= input.Steps; step++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(input.StepMilliseconds), context.TimeProvider, context.CancellationToken);
            context.ReportProgress((double)step / input.Steps, $"step {step} of {input.Steps}");
        }

        return input.Fail
            ? throw new InvalidOperationException($"the report failed after {input.Steps} steps, as asked")
            : $"report of {input.Steps} steps, built on node '{context.NodeName}' in attempt {context.Attempt}";
    }
}
