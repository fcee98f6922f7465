namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures one named dispatcher registered with <c>services.AddTaskDispatch()</c>.</summary>
public interface ITaskDispatchBuilder
{
    /// <summary>Gets the dispatcher's name; it is also the service key of its <see cref="TaskDispatch.ITaskDispatcher"/>.</summary>
    string Name { get; }

    /// <summary>Gets the service collection the dispatcher is registered in.</summary>
    IServiceCollection Services { get; }
}
