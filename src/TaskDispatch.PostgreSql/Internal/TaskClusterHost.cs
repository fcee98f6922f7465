using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>A cluster member's life inside the generic host: built and joined at the host's start, left at its stop,
/// disposed with the container.</summary>
internal sealed class TaskClusterHost(string name, Action<TaskClusterBuilder> configure, IServiceProvider services) : IHostedService, IAsyncDisposable, IDisposable
{
    private TaskCluster? _cluster;

    /// <summary>Gets the member; throws until the host has started it.</summary>
    internal TaskCluster Cluster => Volatile.Read(ref _cluster)
        ?? throw new InvalidOperationException($"The member of cluster '{name}' has not joined yet: it joins when the host starts (resolve TaskCluster after the host's StartAsync, for example in a hosted service's ExecuteAsync or a request).");

    /// <summary>Gets the member, or <see langword="null"/> before the host started it.</summary>
    internal TaskCluster? Started => Volatile.Read(ref _cluster);

    /// <summary>Gets the cluster's name.</summary>
    internal string Name => name;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = new TaskClusterBuilder(name).UseServiceProvider(services);
        if (services.GetService<ILoggerFactory>() is { } loggerFactory)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        // The user's configuration comes last, so that it can choose other services, loggers or a clock.
        configure(builder);
        Volatile.Write(ref _cluster, await builder.BuildAsync(cancellationToken).ConfigureAwait(false));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Started is { } cluster)
        {
            // The host's shutdown ends the wait, not the leaving: the member goes on handing back what it holds, and
            // the container's disposal waits for that.
            await cluster.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Started is { } cluster)
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }
    }

    // A container disposed synchronously refuses services that can only be disposed asynchronously; the member's
    // leaving is waited for here instead (the generic host disposes asynchronously, and never comes here).
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
