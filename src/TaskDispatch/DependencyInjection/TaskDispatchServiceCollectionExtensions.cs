using Microsoft.Extensions.DependencyInjection.Extensions;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers dispatchers in a service collection.</summary>
public static class TaskDispatchServiceCollectionExtensions
{
    /// <summary>Registers the default dispatcher as <see cref="ITaskDispatcher"/>, both unkeyed and keyed by <see cref="TaskDispatcherDefaults.Name"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the dispatcher's settings.</param>
    /// <returns>A builder to choose policies and add nodes.</returns>
    /// <remarks>Calling it again configures the same dispatcher further. With nothing configured, the dispatcher runs FCFS and round-robin on one node with <see cref="Environment.ProcessorCount"/> slots, without retries.</remarks>
    public static ITaskDispatchBuilder AddTaskDispatch(this IServiceCollection services, Action<TaskDispatcherOptions>? configure = null) =>
        services.AddTaskDispatch(TaskDispatcherDefaults.Name, configure);

    /// <summary>Registers a named dispatcher as a keyed <see cref="ITaskDispatcher"/>; resolve it with <c>GetRequiredKeyedService&lt;ITaskDispatcher&gt;(name)</c>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The dispatcher's name and service key.</param>
    /// <param name="configure">Changes the dispatcher's settings.</param>
    /// <returns>A builder to choose policies and add nodes.</returns>
    /// <exception cref="ArgumentException">Thrown when <paramref name="name"/> is null, empty or white space.</exception>
    public static ITaskDispatchBuilder AddTaskDispatch(this IServiceCollection services, string name, Action<TaskDispatcherOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        var registration = FindRegistration(services, name);
        if (registration is null)
        {
            registration = new TaskDispatchRegistration(name) { Services = services };
            services.AddKeyedSingleton(name, registration);
            services.AddKeyedSingleton<ITaskDispatcher>(name, static (provider, key) =>
                provider.GetRequiredKeyedService<TaskDispatchRegistration>(key).Build(provider));
            if (name == TaskDispatcherDefaults.Name)
            {
                services.TryAddSingleton(static provider => provider.GetRequiredKeyedService<ITaskDispatcher>(TaskDispatcherDefaults.Name));
            }
        }

        if (configure is not null)
        {
            registration.AddStep((_, builder) => builder.Configure(configure));
        }

        return registration;
    }

    /// <summary>Registers <typeparamref name="THandler"/> (scoped: one per task attempt) as the handler of every
    /// <see cref="ITaskHandler{TInput, TResult}"/> it implements, so that tasks are submitted by their input alone
    /// (<see cref="TaskDispatcherExtensions.SubmitAsync{TResult}(ITaskDispatcher, ITaskRequest{TResult}, TaskOptions?, CancellationToken)"/>).</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="THandler"/> implements no <see cref="ITaskHandler{TInput, TResult}"/>.</exception>
    public static IServiceCollection AddTaskHandler<THandler>(this IServiceCollection services)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(services);
        var contracts = typeof(THandler).GetInterfaces()
            .Where(static contract => contract.IsGenericType && contract.GetGenericTypeDefinition() == typeof(ITaskHandler<,>))
            .ToList();
        if (contracts.Count == 0)
        {
            throw new ArgumentException($"{typeof(THandler).Name} implements no ITaskHandler<TInput, TResult>.", nameof(THandler));
        }

        services.TryAddScoped<THandler>();
        foreach (var contract in contracts)
        {
            services.AddScoped(contract, static provider => provider.GetRequiredService<THandler>());
        }

        // The request types it handles are submitted as its tasks, by their input alone.
        var routes = services.FirstOrDefault(static descriptor => descriptor.ServiceType == typeof(RequestRoutes))?.ImplementationInstance as RequestRoutes;
        if (routes is null)
        {
            routes = new RequestRoutes();
            services.AddSingleton(routes);
        }

        routes.Add(typeof(THandler), contracts);

        return services;
    }

    internal static TaskDispatchRegistration? FindRegistration(IServiceCollection services, string name)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(TaskDispatchRegistration)
                && descriptor.IsKeyedService
                && Equals(descriptor.ServiceKey, name)
                && descriptor.KeyedImplementationInstance is TaskDispatchRegistration registration)
            {
                return registration;
            }
        }

        return null;
    }
}
