using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Runs TaskDispatch dispatchers with the .NET generic host and binds them from configuration.</summary>
public static class TaskDispatchHostingServiceCollectionExtensions
{
    /// <summary>Starts every dispatcher registered in <paramref name="services"/> when the host starts, and stops each
    /// when the host stops.</summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    /// <remarks>
    /// <para>At start each dispatcher is built, which validates its settings: a bad setting fails the host's start with an
    /// error naming the dispatcher (and, for one bound from configuration, the configuration key), instead of failing
    /// the first request that resolves it.</para>
    /// <para>At stop each dispatcher stops as its <see cref="TaskDispatcherOptions.ShutdownMode"/> says (drain, by
    /// default) within its <see cref="TaskDispatcherOptions.ShutdownTimeout"/>, and is forced when the host's shutdown
    /// token fires first (<c>HostOptions.ShutdownTimeout</c>). This happens before the container is disposed, so tasks
    /// of DI handlers (<see cref="ITaskHandler{TInput, TResult}"/>) still get their scopes and drain like delegate tasks.
    /// Every task the stop cancels is counted and logged.</para>
    /// <para>Calling it more than once registers the service once.</para>
    /// </remarks>
    public static IServiceCollection AddTaskDispatchHostedService(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, TaskDispatchHostedService>());
        return services;
    }

    /// <summary>Registers the default dispatcher bound from a configuration section, and runs it with the host
    /// (<see cref="AddTaskDispatchHostedService"/>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The dispatcher's section, for example <c>configuration.GetSection("TaskDispatch")</c>.</param>
    /// <returns>A builder to go on configuring the dispatcher in code (handlers, custom policies, observers).</returns>
    /// <exception cref="InvalidOperationException">A key is unknown, or a value does not convert or is refused; the
    /// message names the dispatcher and the key.</exception>
    /// <remarks>See <see cref="AddTaskDispatch(IServiceCollection, string, IConfiguration)"/> for the keys.</remarks>
    public static ITaskDispatchBuilder AddTaskDispatch(this IServiceCollection services, IConfiguration configuration) =>
        services.AddTaskDispatch(TaskDispatcherDefaults.Name, configuration);

    /// <summary>Registers a named dispatcher bound from a configuration section, and runs it with the host
    /// (<see cref="AddTaskDispatchHostedService"/>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The dispatcher's name and service key.</param>
    /// <param name="configuration">The dispatcher's section, for example <c>configuration.GetSection("TaskDispatch:Emails")</c>.</param>
    /// <returns>A builder to go on configuring the dispatcher in code (handlers, custom policies, observers).</returns>
    /// <exception cref="InvalidOperationException">A key is unknown, or a value does not convert or is refused; the
    /// message names the dispatcher and the key.</exception>
    /// <remarks>
    /// <para>The section holds the properties of <see cref="TaskDispatcherOptions"/> (for example <c>MaxPendingTasks</c>,
    /// <c>ShutdownTimeout</c>, <c>NodeCircuitBreaker</c>), and:</para>
    /// <list type="bullet">
    /// <item><c>Nodes</c>: one sub-section per node, by name, with the properties of <see cref="NodeOptions"/>
    /// (<c>MaxConcurrency</c>, <c>Weight</c>, <c>Tags</c>, <c>Resources</c>).</item>
    /// <item><c>Scheduling</c>: <c>Policy</c> (FirstComeFirstServed, ShortestJobFirst, Priority, EarliestDeadlineFirst,
    /// WeightedFairShare) and the properties of that policy's options class.</item>
    /// <item><c>Allocation</c>: <c>Strategy</c> (RoundRobin, Random, WeightedRandom, LeastLoaded, PowerOfTwoChoices,
    /// ResourceFit), <c>Seed</c> for the random ones, <c>Mode</c> for ResourceFit.</item>
    /// <item><c>Recovery</c>: <c>Policy</c> (Default, Retry, None), the properties of <see cref="RetryRecoveryOptions"/>
    /// for Retry, <c>Seed</c> for its jitter, and <c>MaxFailovers</c> to add fault-tolerant reassignment.</item>
    /// </list>
    /// <para>Every key is checked: one TaskDispatch does not know is an error, not ignored. The section is read once, at
    /// registration; settings only code can give (delegates, custom policies, executors) are given on the returned builder.</para>
    /// </remarks>
    public static ITaskDispatchBuilder AddTaskDispatch(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration as IConfigurationSection
            ?? throw new ArgumentException("Pass the dispatcher's section, for example configuration.GetSection(\"TaskDispatch\").", nameof(configuration));

        if (!section.Exists())
        {
            // A misspelled section name would otherwise run the dispatcher on defaults without a word.
            throw new InvalidOperationException($"TaskDispatch dispatcher '{name}': the configuration section '{section.Path}' does not exist (or is empty). Check its name; for a dispatcher on defaults, call AddTaskDispatch() without configuration.");
        }

        var builder = services.AddTaskDispatch(name);
        var registration = (TaskDispatchRegistration)builder;
        DispatcherConfigurationBinder.Bind(registration, section);
        services.AddTaskDispatchHostedService();
        return builder;
    }
}
