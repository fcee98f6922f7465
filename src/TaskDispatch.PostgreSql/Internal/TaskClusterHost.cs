using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TaskDispatch;

/// <summary>A cluster member's life inside the generic host: built and joined at the host's start, left at its stop,
/// disposed with the container (asynchronously: the member's leaving talks to the database).</summary>
internal sealed class TaskClusterHost(string name, Action<TaskClusterBuilder> configure, IServiceProvider services) : IHostedService, IAsyncDisposable
{
    /// <summary>How long the host's stop still waits for the member to leave once the host's token fired: the last writes'
    /// second, and the leaving.</summary>
    internal static readonly TimeSpan HurriedLeaveGrace = TimeSpan.FromSeconds(5);

    private TaskCluster? _cluster;

    /// <summary>Gets the member; throws until the host has started it.</summary>
    internal TaskCluster Cluster => Volatile.Read(ref _cluster)
        ?? throw new InvalidOperationException($"The member of cluster '{name}' has not joined yet: it joins when the host starts. Resolve TaskCluster once the host has started (in a request, or after IHostApplicationLifetime.ApplicationStarted), not in a hosted service's constructor.");

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
        try
        {
            Volatile.Write(ref _cluster, await builder.BuildAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"The member of cluster '{name}' could not join: {exception.Message}", exception);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Started is not { } cluster)
        {
            return;
        }

        // Within the member's ShutdownTimeout; the host's token, when it fires first, hands what still runs back to the
        // cluster at once and leaves the last writes a second.
        var stop = cluster.StopAsync(timeout: null, cancellationToken);
        try
        {
            await stop.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        // The leaving after that (handing leases back, marking the nodes gone) takes a moment; a database out of reach
        // could hold it for its connection timeouts, so the host is not kept past a few seconds more.
        try
        {
            await stop.WaitAsync(HurriedLeaveGrace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger("TaskDispatch.PostgreSql.TaskCluster") ?? NullLogger.Instance;
            ClusterLog.StopCutByHost(logger, name, cluster.MemberId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Started is { } cluster)
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
