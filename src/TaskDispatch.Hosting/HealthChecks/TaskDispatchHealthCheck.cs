using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskDispatch;

/// <summary>One dispatcher's health: unhealthy when it has stopped or its engine failed; degraded when no node can take
/// work (every one quarantined or unavailable) or when its queue is nearly full; healthy otherwise. The data lists the
/// queue's figures and each node's.</summary>
internal sealed class TaskDispatchHealthCheck(Func<ITaskDispatcher> dispatcher, double queueDegradedRatio) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check(dispatcher(), context.Registration.FailureStatus));

    internal HealthCheckResult Check(ITaskDispatcher resolved, HealthStatus failureStatus)
    {
        // AddTaskDispatch registers a TaskDispatcher under this key; anything else is a registration replaced by hand.
        var local = resolved as TaskDispatcher
            ?? throw new InvalidOperationException($"The service registered as dispatcher '{resolved.Name}' is a {resolved.GetType().Name}, not a TaskDispatcher; the TaskDispatch health check reads a TaskDispatcher's state.");
        // Read once, so that the data and the verdict tell of the same moment.
        var status = local.Status;
        var nodes = local.Nodes;
        var waiting = local.WaitingTaskCount;
        var accepting = 0;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["dispatcher"] = local.Name,
            ["status"] = status.ToString(),
            ["liveTasks"] = local.LiveTaskCount,
            ["waitingTasks"] = waiting,
            ["maxPendingTasks"] = local.MaxPendingTasks,
        };
        foreach (var node in nodes)
        {
            accepting += node.IsAcceptingWork ? 1 : 0;
            data[$"node:{node.Name}"] = $"{node.Health}, {node.ActiveTasks}/{node.MaxConcurrency} slots busy";
        }

        switch (status)
        {
            case DispatcherStatus.Faulted:
                return new HealthCheckResult(failureStatus, $"Dispatcher '{local.Name}' failed: {local.Fault?.Message}", local.Fault, data);
            case DispatcherStatus.Stopped:
            case DispatcherStatus.Stopping:
                return new HealthCheckResult(failureStatus, $"Dispatcher '{local.Name}' is {status.ToString().ToLowerInvariant()} and accepts no new tasks.", data: data);
        }

        if (accepting == 0)
        {
            return new HealthCheckResult(HealthStatus.Degraded, $"Dispatcher '{local.Name}' has no node that accepts work: every one of its {nodes.Count} node(s) is quarantined, unavailable or draining.", data: data);
        }

        var fill = (double)waiting / local.MaxPendingTasks;
        if (fill >= queueDegradedRatio)
        {
            return new HealthCheckResult(HealthStatus.Degraded, $"Dispatcher '{local.Name}' holds {waiting} waiting task(s), {fill:P0} of its MaxPendingTasks ({local.MaxPendingTasks}).", data: data);
        }

        return HealthCheckResult.Healthy($"Dispatcher '{local.Name}' is running: {accepting} of {nodes.Count} node(s) accept work, {waiting} task(s) waiting.", data);
    }
}
