using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskDispatch;

/// <summary>A cluster member's health, read from the cluster's nodes (see
/// <see cref="Microsoft.Extensions.DependencyInjection.TaskClusterHealthChecksBuilderExtensions.AddTaskCluster"/>).</summary>
internal sealed class TaskClusterHealthCheck(TaskClusterHost host) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = context.Registration.FailureStatus;
        if (host.Started is not { } cluster)
        {
            return new HealthCheckResult(failure, $"The member of cluster '{host.Name}' has not joined yet.");
        }

        var data = new Dictionary<string, object>(StringComparer.Ordinal) { ["cluster"] = cluster.Name, ["member"] = cluster.MemberId };
        if (cluster.IsStopping)
        {
            return new HealthCheckResult(failure, $"Member {cluster.MemberId} of cluster '{cluster.Name}' has left or is leaving.", data: data);
        }

        IReadOnlyList<ClusterNodeInfo> nodes;
        try
        {
            nodes = await cluster.GetNodesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, $"Member {cluster.MemberId} of cluster '{cluster.Name}' cannot read the cluster from PostgreSQL: {exception.Message}", exception, data);
        }

        var own = cluster.NodeNames;
        var live = 0;
        var ownLive = 0;
        foreach (var node in nodes)
        {
            live += node.IsAlive ? 1 : 0;
            var mine = own.Contains(node.Name, StringComparer.Ordinal) && node.Member == cluster.MemberId;
            ownLive += mine && node.IsAlive ? 1 : 0;
            data[$"node:{node.Name}"] = $"{(node.IsAlive ? "live" : "dead")}{(mine ? ", this member" : "")}, {node.Load} placed, {node.Leased}/{node.Slots} leased";
        }

        if (ownLive < own.Count)
        {
            return new HealthCheckResult(HealthStatus.Degraded, $"Member {cluster.MemberId} of cluster '{cluster.Name}': {own.Count - ownLive} of its {own.Count} node(s) are not live (declared dead after a pause or a cut-off; they rejoin at the next heartbeat).", data: data);
        }

        if (live == 0)
        {
            return new HealthCheckResult(HealthStatus.Degraded, $"Cluster '{cluster.Name}' has no live node: tasks wait until one joins.", data: data);
        }

        return HealthCheckResult.Healthy($"Member {cluster.MemberId} of cluster '{cluster.Name}': {ownLive} node(s) of its own live, {live} in the cluster.", data);
    }
}
