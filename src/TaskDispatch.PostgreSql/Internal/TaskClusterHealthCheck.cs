using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskDispatch;

/// <summary>A cluster member's health, read from the cluster's nodes (see
/// <see cref="Microsoft.Extensions.DependencyInjection.TaskClusterHealthChecksBuilderExtensions.AddTaskCluster"/>).</summary>
/// <param name="clusterName">The cluster the check is of.</param>
/// <param name="host">The member's host in the container, or <see langword="null"/> when no <c>AddTaskCluster</c> added
/// this cluster: resolved at each check, so that a wrong name is this check's failure, not the health endpoint's.</param>
internal sealed class TaskClusterHealthCheck(string clusterName, Func<TaskClusterHost?> host) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = context.Registration.FailureStatus;
        if (host() is not { } registered)
        {
            return new HealthCheckResult(failure, $"No member of cluster '{clusterName}' is registered: AddTaskCluster(\"{clusterName}\", ...) was not called (names are case-sensitive).");
        }

        if (registered.Started is not { } cluster)
        {
            return new HealthCheckResult(failure, $"The member of cluster '{clusterName}' has not joined yet.");
        }

        if (cluster.IsStopping)
        {
            return new HealthCheckResult(failure, $"Member {cluster.MemberId} of cluster '{clusterName}' has left or is leaving.", data: BaseData(cluster.MemberId));
        }

        IReadOnlyList<ClusterNodeInfo> nodes;
        try
        {
            nodes = await cluster.ReadNodesAsync(withLoad: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, $"Member {cluster.MemberId} of cluster '{clusterName}' cannot read the cluster from PostgreSQL: {exception.Message}", exception, BaseData(cluster.MemberId));
        }

        return Evaluate(clusterName, cluster.MemberId, cluster.NodeNames, nodes);
    }

    /// <summary>The verdict on a member of a running cluster from the cluster's nodes: degraded when one of the member's
    /// own nodes (its name, registered by this member) is not live, or when no node of the cluster is.</summary>
    internal static HealthCheckResult Evaluate(string clusterName, string memberId, IReadOnlyList<string> ownNodes, IReadOnlyList<ClusterNodeInfo> nodes)
    {
        var data = BaseData(memberId);
        data["cluster"] = clusterName;
        var live = 0;
        var ownLive = 0;
        foreach (var node in nodes)
        {
            var mine = node.Member == memberId && ownNodes.Contains(node.Name, StringComparer.Ordinal);
            live += node.IsAlive ? 1 : 0;
            ownLive += mine && node.IsAlive ? 1 : 0;
            data[$"node:{node.Name}"] = $"{(node.IsAlive ? "live" : "not live")}{(mine ? ", this member" : "")}, {node.Slots} slots, member {node.Member} on {node.Host}";
        }

        if (ownLive < ownNodes.Count)
        {
            return new HealthCheckResult(HealthStatus.Degraded, $"Member {memberId} of cluster '{clusterName}': {ownNodes.Count - ownLive} of its {ownNodes.Count} node(s) are not live (declared dead after a pause or a cut-off: it registers them again at its next heartbeat, unless another member took the name).", data: data);
        }

        if (live == 0)
        {
            return new HealthCheckResult(HealthStatus.Degraded, $"Cluster '{clusterName}' has no live node: tasks wait until one joins.", data: data);
        }

        return HealthCheckResult.Healthy($"Member {memberId} of cluster '{clusterName}': {ownLive} node(s) of its own live, {live} in the cluster.", data);
    }

    private static Dictionary<string, object> BaseData(string memberId) =>
        new(StringComparer.Ordinal) { ["member"] = memberId };
}
