using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds cluster members to the health checks.</summary>
public static class TaskClusterHealthChecksBuilderExtensions
{
    /// <summary>Adds a health check of this process's member of the cluster <paramref name="clusterName"/> (added with
    /// <see cref="TaskClusterServiceCollectionExtensions.AddTaskCluster"/>).</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="clusterName">The cluster's name.</param>
    /// <param name="name">The check's name; <see langword="null"/> for <c>taskdispatch-cluster-{clusterName}</c>.</param>
    /// <param name="failureStatus">What a member that has not joined, is leaving, or cannot read the cluster reports;
    /// <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The builder.</returns>
    /// <remarks>Each check reads the cluster's membership table from PostgreSQL (one statement, which does not count
    /// the tasks, so that a large backlog does not make it dearer): use it for readiness rather than a liveness probe run every few seconds, since a database blip
    /// fails it on every replica at once. Unhealthy (the failure status) when no <c>AddTaskCluster</c> added this cluster,
    /// when the member has not joined yet, has left or is leaving, or the read fails; degraded when one of this member's
    /// nodes is not live (declared dead after a pause or a cut-off, and rejoining) or no node of the whole cluster is
    /// live (tasks wait); healthy otherwise. The data holds the member's id and each node's state, slots, member and
    /// host.</remarks>
    public static IHealthChecksBuilder AddTaskCluster(this IHealthChecksBuilder builder, string clusterName, string? name = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(clusterName);
        return builder.Add(new HealthCheckRegistration(
            name ?? $"taskdispatch-cluster-{clusterName}",
            services => new TaskClusterHealthCheck(clusterName, () => services.GetKeyedService<TaskClusterHost>(clusterName)),
            failureStatus,
            tags));
    }
}
