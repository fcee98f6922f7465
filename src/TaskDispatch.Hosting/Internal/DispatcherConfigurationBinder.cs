using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>Reads one dispatcher's configuration section: its options, its nodes, and its built-in policies by name with
/// their settings. Everything is read and validated when the dispatcher is registered, so that a bad value or an unknown
/// key stops the application at start-up, named by its key; the dispatcher is then built from what was read.</summary>
internal sealed class DispatcherConfigurationBinder
{
    internal const string NodesKey = "Nodes";
    internal const string SchedulingKey = "Scheduling";
    internal const string AllocationKey = "Allocation";
    internal const string RecoveryKey = "Recovery";
    internal const string PolicyKey = "Policy";
    internal const string StrategyKey = "Strategy";
    internal const string SeedKey = "Seed";
    internal const string MaxFailoversKey = "MaxFailovers";

    internal static readonly string[] SchedulingPolicies = ["FirstComeFirstServed", "ShortestJobFirst", "Priority", "EarliestDeadlineFirst", "WeightedFairShare"];
    internal static readonly string[] AllocationStrategies = ["RoundRobin", "Random", "WeightedRandom", "LeastLoaded", "PowerOfTwoChoices", "ResourceFit"];
    internal static readonly string[] RecoveryPolicies = ["Default", "Retry", "None"];

    private readonly TaskDispatchRegistration _registration;
    private readonly IConfigurationSection _section;

    private DispatcherConfigurationBinder(TaskDispatchRegistration registration, IConfigurationSection section)
    {
        _registration = registration;
        _section = section;
    }

    private string Name => _registration.Name;

    /// <summary>Reads <paramref name="section"/> onto <paramref name="registration"/>.</summary>
    internal static void Bind(TaskDispatchRegistration registration, IConfigurationSection section) =>
        new DispatcherConfigurationBinder(registration, section).Bind();

    private void Bind()
    {
        CheckKeys(_section, typeof(TaskDispatcherOptions), NodesKey, SchedulingKey, AllocationKey, RecoveryKey);
        BindOptions();
        BindNodes();
        if (_section.GetSection(SchedulingKey) is { } scheduling && scheduling.Exists())
        {
            var factory = SchedulingFactory(scheduling);
            _registration.UseScheduling(_ => factory());
        }

        if (_section.GetSection(AllocationKey) is { } allocation && allocation.Exists())
        {
            var factory = AllocationFactory(allocation);
            _registration.UseAllocation(_ => factory());
        }

        if (_section.GetSection(RecoveryKey) is { } recovery && recovery.Exists())
        {
            var factory = RecoveryFactory(recovery);
            _registration.UseRecovery(_ => factory());
        }
    }

    private void BindOptions()
    {
        foreach (var property in BindableProperties(typeof(TaskDispatcherOptions)))
        {
            _registration.ConfigurationKeys[property.Name] = ConfigurationPath.Combine(_section.Path, property.Name);
        }

        if (_section.GetSection(nameof(TaskDispatcherOptions.NodeCircuitBreaker)) is { } breaker && breaker.Exists())
        {
            CheckKeys(breaker, typeof(NodeCircuitBreakerOptions));
            // The breaker's validation names a setting "NodeCircuitBreaker.FailureRatio".
            foreach (var property in BindableProperties(typeof(NodeCircuitBreakerOptions)))
            {
                _registration.ConfigurationKeys[$"{nameof(TaskDispatcherOptions.NodeCircuitBreaker)}.{property.Name}"] = ConfigurationPath.Combine(breaker.Path, property.Name);
            }
        }

        // Read now: a value that does not convert fails here, and the values are validated here, by their keys.
        var probe = new TaskDispatcherOptions();
        BindInto(_section, probe);
        Validate(probe.Validate);
        _registration.AddStep((_, builder) => builder.Configure(options => BindInto(_section, options)));
    }

    private void BindNodes()
    {
        var nodes = _section.GetSection(NodesKey);
        foreach (var node in nodes.GetChildren())
        {
            CheckKeys(node, typeof(NodeOptions));
            var probe = new NodeOptions();
            BindInto(node, probe);
            foreach (var property in BindableProperties(typeof(NodeOptions)))
            {
                _registration.ConfigurationKeys[$"Nodes[{node.Key}].{property.Name}"] = ConfigurationPath.Combine(node.Path, property.Name);
            }

            var section = node;
            Validate(() => _registration.AddNode(section.Key, options => BindInto(section, options)));
        }
    }

    private Func<ISchedulingPolicy> SchedulingFactory(IConfigurationSection section)
    {
        var name = Choice(section, PolicyKey, SchedulingPolicies);
        Func<ISchedulingPolicy> factory = name switch
        {
            "FirstComeFirstServed" => Strict(section, SchedulingPolicy.FirstComeFirstServed, PolicyKey),
            "ShortestJobFirst" => Strict<ShortestJobFirstOptions>(section, SchedulingPolicy.ShortestJobFirst, PolicyKey),
            "Priority" => Strict<PriorityPolicyOptions>(section, SchedulingPolicy.Priority, PolicyKey),
            "EarliestDeadlineFirst" => Strict<EarliestDeadlineFirstOptions>(section, SchedulingPolicy.EarliestDeadlineFirst, PolicyKey),
            _ => Strict<WeightedFairShareOptions>(section, SchedulingPolicy.WeightedFairShare, PolicyKey),
        };
        Validate(() => factory(), section);
        return factory;
    }

    private Func<IAllocationStrategy> AllocationFactory(IConfigurationSection section)
    {
        var name = Choice(section, StrategyKey, AllocationStrategies);
        var seed = Seed(section);
        Func<IAllocationStrategy> factory = name switch
        {
            "RoundRobin" => Strict(section, AllocationStrategy.RoundRobin, StrategyKey),
            "Random" => Strict(section, () => AllocationStrategy.Random(NewRandom(seed)), StrategyKey, SeedKey),
            "WeightedRandom" => Strict(section, () => AllocationStrategy.WeightedRandom(NewRandom(seed)), StrategyKey, SeedKey),
            "LeastLoaded" => Strict(section, AllocationStrategy.LeastLoaded, StrategyKey),
            "PowerOfTwoChoices" => Strict(section, () => AllocationStrategy.PowerOfTwoChoices(NewRandom(seed)), StrategyKey, SeedKey),
            _ => ResourceFit(section),
        };
        Validate(() => factory(), section);
        return factory;
    }

    private Func<IAllocationStrategy> ResourceFit(IConfigurationSection section)
    {
        CheckKeys(section, null, StrategyKey, "Mode");
        var mode = ResourceFitMode.BestFit;
        if (section["Mode"] is { } text && !Enum.TryParse(text, ignoreCase: true, out mode))
        {
            throw ConfigurationErrors.Invalid(Name, ConfigurationPath.Combine(section.Path, "Mode"), $"is '{text}'; expected one of {string.Join(", ", Enum.GetNames<ResourceFitMode>())}.");
        }

        return () => AllocationStrategy.ResourceFit(mode);
    }

    private Func<IRecoveryPolicy> RecoveryFactory(IConfigurationSection section)
    {
        var name = Choice(section, PolicyKey, RecoveryPolicies);
        var maxFailovers = section[MaxFailoversKey] is { } failovers ? Integer(section, MaxFailoversKey, failovers) : (int?)null;
        Func<IRecoveryPolicy> inner = name switch
        {
            "Default" => Strict(section, RecoveryPolicy.Default, PolicyKey, MaxFailoversKey),
            "None" => Strict(section, () => RecoveryPolicy.Retry(retry => retry.MaxRetryAttempts = 0), PolicyKey, MaxFailoversKey),
            _ => RetryFactory(section),
        };
        Func<IRecoveryPolicy> factory = maxFailovers is { } limit ? () => inner().WithFailover(limit) : inner;
        Validate(() => factory(), section);
        return factory;
    }

    private Func<IRecoveryPolicy> RetryFactory(IConfigurationSection section)
    {
        CheckKeys(section, typeof(RetryRecoveryOptions), PolicyKey, SeedKey, MaxFailoversKey);
        var seed = Seed(section);
        return () => RecoveryPolicy.Retry(options =>
        {
            BindInto(section, options);
            options.Random = NewRandom(seed);
        });
    }

    /// <summary>A factory for a policy with no settings beyond its name (and <paramref name="allowed"/>).</summary>
    private Func<T> Strict<T>(IConfigurationSection section, Func<T> create, params string[] allowed)
    {
        CheckKeys(section, null, allowed);
        return create;
    }

    /// <summary>A factory for a policy whose settings class <typeparamref name="TOptions"/> is bound from the section.</summary>
    private Func<ISchedulingPolicy> Strict<TOptions>(IConfigurationSection section, Func<Action<TOptions>?, ISchedulingPolicy> create, params string[] allowed)
        where TOptions : class
    {
        CheckKeys(section, typeof(TOptions), allowed);
        foreach (var property in BindableProperties(typeof(TOptions)))
        {
            _registration.ConfigurationKeys[property.Name] = ConfigurationPath.Combine(section.Path, property.Name);
        }

        return () => create(options => BindInto(section, options));
    }

    private string Choice(IConfigurationSection section, string key, string[] choices)
    {
        var path = ConfigurationPath.Combine(section.Path, key);
        var value = section[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw ConfigurationErrors.Invalid(Name, path, $"is missing; it chooses one of {string.Join(", ", choices)}.");
        }

        return Array.Find(choices, choice => string.Equals(choice, value, StringComparison.OrdinalIgnoreCase))
            ?? throw ConfigurationErrors.Invalid(Name, path, $"is '{value}', which is not a built-in choice; expected one of {string.Join(", ", choices)}. A custom policy is chosen in code (UseScheduling, UseAllocation, UseRecovery).");
    }

    private int? Seed(IConfigurationSection section) =>
        section[SeedKey] is { } seed ? Integer(section, SeedKey, seed) : null;

    private int Integer(IConfigurationSection section, string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw ConfigurationErrors.Invalid(Name, ConfigurationPath.Combine(section.Path, key), $"is '{value}', which is not an integer.");

    private static Random? NewRandom(int? seed) => seed is { } value ? new Random(value) : null;

    /// <summary>Refuses a key that names nothing: a misspelled setting must not be silently ignored.</summary>
    private void CheckKeys(IConfigurationSection section, Type? optionsType, params string[] allowed)
    {
        var known = new HashSet<string>(allowed, StringComparer.OrdinalIgnoreCase);
        if (optionsType is not null)
        {
            known.UnionWith(BindableProperties(optionsType).Select(property => property.Name));
        }

        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key))
            {
                throw ConfigurationErrors.Invalid(Name, child.Path, $"is not a setting TaskDispatch knows here; the keys of '{section.Path}' are {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
            }
        }
    }

    private void BindInto(IConfiguration section, object options)
    {
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException exception)
        {
            throw ConfigurationErrors.Invalid(Name, section is IConfigurationSection { Path: var path } ? path : string.Empty, $"could not be read: {exception.Message}", exception);
        }
    }

    /// <summary>Runs a validation and reports what it refuses by the configuration key of the setting it names.</summary>
    private void Validate(Action validate, IConfigurationSection? section = null)
    {
        try
        {
            validate();
        }
        catch (ArgumentException exception)
        {
            var key = ConfigurationErrors.KeyOf(_registration, exception) ?? section?.Path ?? _section.Path;
            throw ConfigurationErrors.Invalid(Name, key, $"holds a value TaskDispatch refuses: {exception.Message}", exception);
        }
    }

    /// <summary>The settings a configuration section can set: public properties that are settable, or collections to
    /// fill; code-only settings (delegates, random sources, executors) are not among them.</summary>
    private static IEnumerable<PropertyInfo> BindableProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(static property =>
            !typeof(Delegate).IsAssignableFrom(property.PropertyType)
            && property.PropertyType != typeof(Random)
            && property.PropertyType != typeof(INodeExecutor)
            && (property.SetMethod is { IsPublic: true } || property.PropertyType.IsGenericType));
}
