using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds TaskDispatch dispatchers to the health checks.</summary>
public static class TaskDispatchHealthChecksBuilderExtensions
{
    /// <summary>The share of <see cref="TaskDispatcherOptions.MaxPendingTasks"/> at which a waiting queue makes a
    /// dispatcher degraded, unless told otherwise.</summary>
    public const double DefaultQueueDegradedRatio = 0.9;

    /// <summary>Adds a health check of one dispatcher.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="dispatcherName">The dispatcher's name (its service key); <see langword="null"/> for the default one.</param>
    /// <param name="name">The check's name; <see langword="null"/> for <c>taskdispatch-{dispatcherName}</c>.</param>
    /// <param name="failureStatus">What a stopped or failed dispatcher reports; <see langword="null"/> for
    /// <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <param name="queueDegradedRatio">The share of <see cref="TaskDispatcherOptions.MaxPendingTasks"/> waiting at which
    /// the dispatcher is degraded; greater than 0 and at most 1.</param>
    /// <returns>The builder.</returns>
    /// <remarks>Unhealthy when the dispatcher has stopped (or is stopping) or its engine failed; degraded when every node
    /// is quarantined, unavailable or draining, or when the waiting tasks reach <paramref name="queueDegradedRatio"/> of
    /// <see cref="TaskDispatcherOptions.MaxPendingTasks"/>; healthy otherwise. The result's data holds the status, the
    /// live, waiting and maximum pending tasks, and each node's health and busy slots.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queueDegradedRatio"/> is not in (0, 1].</exception>
    public static IHealthChecksBuilder AddTaskDispatch(this IHealthChecksBuilder builder, string? dispatcherName = null, string? name = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, double queueDegradedRatio = DefaultQueueDegradedRatio)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!(queueDegradedRatio > 0 && queueDegradedRatio <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(queueDegradedRatio), queueDegradedRatio, $"{nameof(queueDegradedRatio)} must be greater than 0 and at most 1, was {queueDegradedRatio}.");
        }

        var key = dispatcherName ?? TaskDispatcherDefaults.Name;
        return builder.Add(new HealthCheckRegistration(
            name ?? $"taskdispatch-{key}",
            services => new TaskDispatchHealthCheck(() => services.GetRequiredKeyedService<ITaskDispatcher>(key), queueDegradedRatio),
            failureStatus,
            tags));
    }
}
