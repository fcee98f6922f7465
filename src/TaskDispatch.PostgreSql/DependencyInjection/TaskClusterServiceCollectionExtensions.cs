using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a cluster member with the generic host: it joins when the host starts and leaves when it stops.</summary>
public static class TaskClusterServiceCollectionExtensions
{
    /// <summary>Adds a member of the cluster <paramref name="name"/>, built by <paramref name="configure"/> when the host
    /// starts (a bad setting fails the start, naming it) and stopped with the host: what runs here finishes within
    /// <see cref="TaskCluster.StopAsync"/>'s default of 30 seconds or the host's shutdown, whichever ends first, and what
    /// does not is handed back to the cluster. Handlers are created from the container, and the member logs through
    /// its <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/>, unless <paramref name="configure"/> says otherwise.
    /// Resolve the member as the keyed service <see cref="TaskCluster"/> under <paramref name="name"/> (the first one
    /// added is also the plain <see cref="TaskCluster"/>), once the host has started.</summary>
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
