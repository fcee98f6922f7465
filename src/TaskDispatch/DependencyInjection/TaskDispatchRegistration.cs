using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TaskDispatch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Everything said about one named dispatcher, replayed onto a <see cref="TaskDispatcherBuilder"/> when it is first resolved.</summary>
internal sealed class TaskDispatchRegistration(string name) : ITaskDispatchBuilder
{
    private readonly List<Action<IServiceProvider, TaskDispatcherBuilder>> _steps = [];
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public IServiceCollection Services { get; set; } = null!;

    /// <summary>Gets, for a dispatcher bound from configuration, the configuration key of each setting by the name its
    /// validation reports (<see cref="ArgumentException.ParamName"/>), so that a bad value is reported by its key.</summary>
    internal Dictionary<string, string> ConfigurationKeys { get; } = new(StringComparer.Ordinal);

    internal void AddStep(Action<IServiceProvider, TaskDispatcherBuilder> step) => _steps.Add(step);

    internal void AddNode(string name, Action<NodeOptions>? configure)
    {
        if (_nodeNames.Contains(name))
        {
            throw new ArgumentException($"Dispatcher '{Name}' already has a node named '{name}'.", nameof(name));
        }

        // Validate now, at the call site, rather than when the dispatcher is first resolved.
        var probe = new NodeOptions();
        configure?.Invoke(probe);
        probe.Validate(name);
        _nodeNames.Add(name);
        _steps.Add((_, builder) => builder.AddNode(name, configure));
    }

    internal TaskDispatcher Build(IServiceProvider services)
    {
        var builder = new TaskDispatcherBuilder(Name)
            .UseTimeProvider(services.GetService<TimeProvider>() ?? TimeProvider.System)
            .UseLoggerFactory(services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance)
            .UseServiceProvider(services);
        foreach (var step in _steps)
        {
            step(services, builder);
        }

        return builder.Build();
    }
}
