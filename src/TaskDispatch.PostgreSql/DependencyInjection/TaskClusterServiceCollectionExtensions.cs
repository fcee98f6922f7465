using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a cluster member with the generic host: it joins when the host starts and leaves when it stops.</summary>
public static class TaskClusterServiceCollectionExtensions
{
    /// <summary>Adds a member of the cluster <paramref name="name"/>, built by <paramref name="configure"/> when the host
    /// starts (a failure to join fails the start with an <see cref="InvalidOperationException"/> naming the cluster, the
    /// cause inside) and stopped with the host: what runs here gets 10 seconds to finish, its last writes as long again
    /// (a third each of the generic host's default 30 s shutdown), and what does not finish is handed back to the
    /// cluster, not cancelled; a host that stops waiting sooner leaves the member leaving while the container is
    /// disposed. Handlers
    /// are created from the container, and the member logs through its
    /// <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/>, unless <paramref name="configure"/> says otherwise.
    /// Resolve the member as the keyed service <see cref="TaskCluster"/> under <paramref name="name"/> (the first one
    /// added is also the plain <see cref="TaskCluster"/>) once the host has started. Node names must be unique across
    /// the cluster: with several replicas of one app, derive them from the machine (for example
    /// <see cref="Environment.MachineName"/>). The container must be disposed asynchronously, as the generic host does.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The cluster's name, as <see cref="TaskClusterBuilder(string)"/> takes it; one member per name.</param>
    /// <param name="configure">Sets the member up: its store, nodes, handlers and policies.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddTaskCluster(this IServiceCollection services, string name, Action<TaskClusterBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        if (services.Any(descriptor => descriptor.IsKeyedService && descriptor.ServiceType == typeof(TaskClusterHost) && Equals(descriptor.ServiceKey, name)))
        {
            throw new ArgumentException($"A member of cluster '{name}' is registered already: one member per cluster and process (give it more nodes instead).", nameof(name));
        }

        services.AddKeyedSingleton(name, (provider, _) => new TaskClusterHost(name, configure, provider));
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredKeyedService<TaskClusterHost>(name));
        services.AddKeyedSingleton(name, (provider, _) => provider.GetRequiredKeyedService<TaskClusterHost>(name).Cluster);
        services.TryAddSingleton(provider => provider.GetRequiredKeyedService<TaskCluster>(name));
        return services;
    }
}
