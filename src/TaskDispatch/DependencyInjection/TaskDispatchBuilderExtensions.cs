using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the policies, nodes and observers of a dispatcher registered with <c>AddTaskDispatch()</c>.</summary>
/// <remarks>For every slot the last <c>Use*</c> call wins. Policy instances are per dispatcher: a type given as a
/// generic argument is created for this dispatcher with its constructor dependencies resolved from the container.</remarks>
public static class TaskDispatchBuilderExtensions
{
    /// <summary>Uses a scheduling policy instance.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="policy">The policy, used by this dispatcher alone.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseScheduling(this ITaskDispatchBuilder builder, ISchedulingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return builder.UseScheduling(_ => policy);
    }

    /// <summary>Uses a scheduling policy made by a factory when the dispatcher is created.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="factory">Creates the policy.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseScheduling(this ITaskDispatchBuilder builder, Func<IServiceProvider, ISchedulingPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registration(builder).AddStep((services, dispatch) => dispatch.UseScheduling(factory(services)));
        return builder;
    }

    /// <summary>Uses a scheduling policy of type <typeparamref name="TPolicy"/>, created for this dispatcher.</summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseScheduling<TPolicy>(this ITaskDispatchBuilder builder)
        where TPolicy : class, ISchedulingPolicy =>
        builder.UseScheduling(static services => ActivatorUtilities.CreateInstance<TPolicy>(services));

    /// <summary>Uses an allocation strategy instance.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="strategy">The strategy, used by this dispatcher alone.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseAllocation(this ITaskDispatchBuilder builder, IAllocationStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        return builder.UseAllocation(_ => strategy);
    }

    /// <summary>Uses an allocation strategy made by a factory when the dispatcher is created.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="factory">Creates the strategy.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseAllocation(this ITaskDispatchBuilder builder, Func<IServiceProvider, IAllocationStrategy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registration(builder).AddStep((services, dispatch) => dispatch.UseAllocation(factory(services)));
        return builder;
    }

    /// <summary>Uses an allocation strategy of type <typeparamref name="TStrategy"/>, created for this dispatcher.</summary>
    /// <typeparam name="TStrategy">The strategy type.</typeparam>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseAllocation<TStrategy>(this ITaskDispatchBuilder builder)
        where TStrategy : class, IAllocationStrategy =>
        builder.UseAllocation(static services => ActivatorUtilities.CreateInstance<TStrategy>(services));

    /// <summary>Uses a recovery policy instance.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="policy">The policy.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseRecovery(this ITaskDispatchBuilder builder, IRecoveryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return builder.UseRecovery(_ => policy);
    }

    /// <summary>Uses a recovery policy made by a factory when the dispatcher is created.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="factory">Creates the policy.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseRecovery(this ITaskDispatchBuilder builder, Func<IServiceProvider, IRecoveryPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registration(builder).AddStep((services, dispatch) => dispatch.UseRecovery(factory(services)));
        return builder;
    }

    /// <summary>Uses a recovery policy of type <typeparamref name="TPolicy"/>, created for this dispatcher.</summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseRecovery<TPolicy>(this ITaskDispatchBuilder builder)
        where TPolicy : class, IRecoveryPolicy =>
        builder.UseRecovery(static services => ActivatorUtilities.CreateInstance<TPolicy>(services));

    /// <summary>Keeps running tasks' checkpoints in <paramref name="store"/> instead of a new in-memory store.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="store">The store.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseCheckpointStore(this ITaskDispatchBuilder builder, ICheckpointStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return builder.UseCheckpointStore(_ => store);
    }

    /// <summary>Keeps running tasks' checkpoints in a store made by a factory when the dispatcher is created.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseCheckpointStore(this ITaskDispatchBuilder builder, Func<IServiceProvider, ICheckpointStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registration(builder).AddStep((services, dispatch) => dispatch.UseCheckpointStore(factory(services)));
        return builder;
    }

    /// <summary>Keeps the dispatcher's tasks in a durable store made by a factory when the dispatcher is created; see
    /// <see cref="TaskDispatcherBuilder.UseStore"/>.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseStore(this ITaskDispatchBuilder builder, Func<IServiceProvider, ITaskStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registration(builder).AddStep((services, dispatch) => dispatch.UseStore(factory(services)));
        return builder;
    }

    /// <summary>Registers a handler for durable tasks under a stable name, optionally with source-generated JSON
    /// contracts; see <see cref="TaskDispatcherBuilder.AddHandler{THandler, TInput, TResult}"/>.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <typeparam name="TInput">Its input.</typeparam>
    /// <typeparam name="TResult">Its result.</typeparam>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="name">The name stored with its tasks; <see langword="null"/> for the type's full name.</param>
    /// <param name="input">The input's JSON contract; <see langword="null"/> for the reflection-based default.</param>
    /// <param name="result">The result's JSON contract; <see langword="null"/> for the reflection-based default.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder AddHandler<THandler, TInput, TResult>(this ITaskDispatchBuilder builder, string? name = null, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TInput>? input = null, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResult>? result = null)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        Registration(builder).AddStep((_, dispatch) => dispatch.AddHandler<THandler, TInput, TResult>(name, input, result));
        return builder;
    }

    /// <summary>Adds a node. The first added node replaces the default one.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="name">The node's name, unique within the dispatcher.</param>
    /// <param name="configure">Configures the node; validated at once.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">Thrown when <paramref name="name"/> is empty or already used, or the options are invalid.</exception>
    public static ITaskDispatchBuilder AddNode(this ITaskDispatchBuilder builder, string name, Action<NodeOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Registration(builder).AddNode(name, configure);
        return builder;
    }

    /// <summary>Adds an observer instance.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="observer">The observer.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder AddObserver(this ITaskDispatchBuilder builder, ITaskObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        Registration(builder).AddStep((_, dispatch) => dispatch.AddObserver(observer));
        return builder;
    }

    /// <summary>Adds an observer of type <typeparamref name="TObserver"/>, resolved from the container (or created with its dependencies if not registered).</summary>
    /// <typeparam name="TObserver">The observer type.</typeparam>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder AddObserver<TObserver>(this ITaskDispatchBuilder builder)
        where TObserver : class, ITaskObserver
    {
        Registration(builder).AddStep(static (services, dispatch) => dispatch.AddObserver(ActivatorUtilities.GetServiceOrCreateInstance<TObserver>(services)));
        return builder;
    }

    /// <summary>Adds a callback run exactly once per task when it reaches its terminal state.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="onCompleted">The callback; it runs on the observers' consumer, never on a submitter's thread, before the task's awaitable completes.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder OnTaskCompleted(this ITaskDispatchBuilder builder, Action<TaskHandle> onCompleted)
    {
        ArgumentNullException.ThrowIfNull(onCompleted);
        Registration(builder).AddStep((_, dispatch) => dispatch.OnTaskCompleted(onCompleted));
        return builder;
    }

    private static TaskDispatchRegistration Registration(ITaskDispatchBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder as TaskDispatchRegistration
            ?? TaskDispatchServiceCollectionExtensions.FindRegistration(builder.Services, builder.Name)
            ?? throw new InvalidOperationException($"No dispatcher named '{builder.Name}' is registered; call services.AddTaskDispatch(\"{builder.Name}\") first.");
    }
}
