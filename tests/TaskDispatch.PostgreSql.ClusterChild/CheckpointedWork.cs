using TaskDispatch;

namespace TaskDispatch.PostgreSql.ClusterChild;

/// <summary>The input of one task of the cluster test.</summary>
public sealed record WorkInput(int Index, int StepMs);

/// <summary>What a task reports: where it ran and whether it resumed from a checkpoint another node saved.</summary>
public sealed record WorkResult(int Index, string Node, bool Resumed);

/// <summary>Two steps with a checkpoint between them: a task taken over after its node died resumes at step two.</summary>
public sealed class CheckpointedWork : ITaskHandler<WorkInput, WorkResult>
{
    /// <inheritdoc />
    public async ValueTask<WorkResult> HandleAsync(WorkInput input, TaskContext context)
    {
        var resumed = await context.LoadCheckpointAsync<int>() == 1;
        if (!resumed)
        {
            if (input.StepMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(input.StepMs), context.TimeProvider, context.CancellationToken);
            }

            if (input.StepMs > 0)
            {
                await context.SaveCheckpointAsync(1);
            }
        }

        if (input.StepMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(input.StepMs), context.TimeProvider, context.CancellationToken);
        }

        return new WorkResult(input.Index, context.NodeName, resumed);
    }
}
