using TaskDispatch;

namespace WebApi;

/// <summary>What <c>GET /jobs/{id}</c> answers: the job's state (by name), progress, and its result or error.</summary>
public sealed record JobView(string Id, TaskState State, double? Progress, string? ProgressMessage, int Attempts, string? Node, string? Result, string? Error)
{
    internal static JobView Of(TaskHandle handle) => new(
        handle.Id,
        handle.State,
        handle.Progress?.Fraction,
        handle.Progress?.Message,
        handle.Attempts,
        handle.NodeName,
        handle is TaskHandle<string> { State: TaskState.Completed } done ? done.Completion.Result : null,
        handle.State == TaskState.Failed ? handle.Exception?.Message : null);
}
