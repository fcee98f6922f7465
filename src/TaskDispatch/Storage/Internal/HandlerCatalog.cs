using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TaskDispatch;

/// <summary>The handler bindings of a durable dispatcher: the ones registered with
/// <see cref="TaskDispatcherBuilder.AddHandler{THandler, TInput, TResult}"/>, and ones made on first use with the
/// reflection-based JSON defaults. A restarted process finds a stored task's handler by its name: among the registered
/// bindings first, then among the loaded types whose full name it is.</summary>
internal sealed class HandlerCatalog
{
    private readonly ConcurrentDictionary<string, HandlerBinding> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, HandlerBinding> _byType = new();

    /// <summary>Registers a binding; a second registration of the same name or handler type is an error.</summary>
    internal void Register(HandlerBinding binding)
    {
        if (!_byType.TryAdd(binding.HandlerType, binding))
        {
            throw new InvalidOperationException($"Handler type {binding.HandlerType.FullName} is already registered.");
        }

        if (!_byName.TryAdd(binding.Name, binding))
        {
            _byType.TryRemove(binding.HandlerType, out _);
            throw new InvalidOperationException($"A handler is already registered under the name '{binding.Name}'.");
        }
    }

    /// <summary>Gets the binding of <typeparamref name="THandler"/>, making one with the JSON defaults if none was registered.</summary>
    internal HandlerBinding For<THandler, TInput, TResult>()
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        if (_byType.TryGetValue(typeof(THandler), out var binding))
        {
            return binding;
        }

        var created = Create<THandler, TInput, TResult>(null, null, null);
        binding = _byType.GetOrAdd(typeof(THandler), created);
        _byName.TryAdd(binding.Name, binding);
        return binding;
    }

    /// <summary>Finds the binding of a stored task's handler.</summary>
    internal bool TryResolve(string name, [NotNullWhen(true)] out HandlerBinding? binding)
    {
        if (_byName.TryGetValue(name, out binding))
        {
            return true;
        }

        binding = FindLoadedHandler(name);
        if (binding is null)
        {
            return false;
        }

        binding = _byName.GetOrAdd(name, binding);
        _byType.TryAdd(binding.HandlerType, binding);
        return true;
    }

    /// <summary>Makes a binding, with JSON contracts from <see cref="JsonSerializerOptions.Default"/> when none are given.</summary>
    internal static HandlerBinding Create<THandler, TInput, TResult>(string? name, JsonTypeInfo<TInput>? input, JsonTypeInfo<TResult>? result)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        var contracts = Contracts<THandler, TInput, TResult>(name, input, result);
        return new HandlerBinding<THandler, TInput, TResult>(contracts.Name, contracts.Input, contracts.Result);
    }

    /// <summary>A handler's stable name (its type's full name by default) and its input and result contracts (from
    /// <see cref="JsonSerializerOptions.Default"/> when none are given); throws at the call site for an empty name.</summary>
    internal static (string Name, JsonTypeInfo<TInput> Input, JsonTypeInfo<TResult> Result) Contracts<THandler, TInput, TResult>(string? name, JsonTypeInfo<TInput>? input, JsonTypeInfo<TResult>? result)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        if (name is not null && string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A handler's name must not be empty or white space.", nameof(name));
        }

        return (
            name ?? typeof(THandler).FullName ?? typeof(THandler).Name,
            input ?? (JsonTypeInfo<TInput>)JsonSerializerOptions.Default.GetTypeInfo(typeof(TInput)),
            result ?? (JsonTypeInfo<TResult>)JsonSerializerOptions.Default.GetTypeInfo(typeof(TResult)));
    }

    /// <summary>Looks for a loaded handler type with this full name, implementing <see cref="ITaskHandler{TInput, TResult}"/>.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The fallback for handlers not registered with AddHandler; registering them is the trim-safe way, and the docs say so.")]
    [UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "As above.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above.")]
    private static HandlerBinding? FindLoadedHandler(string name)
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.IsDynamic || assembly.GetType(name, throwOnError: false) is not { } type)
            {
                continue;
            }

            foreach (var contract in type.GetInterfaces())
            {
                if (contract.IsGenericType && contract.GetGenericTypeDefinition() == typeof(ITaskHandler<,>) && type.IsClass && !type.IsAbstract)
                {
                    var arguments = contract.GetGenericArguments();
                    var create = typeof(HandlerCatalog).GetMethod(nameof(Create), BindingFlags.Static | BindingFlags.NonPublic)!
                        .MakeGenericMethod(type, arguments[0], arguments[1]);
                    return (HandlerBinding)create.Invoke(null, [name, null, null])!;
                }
            }
        }

        return null;
    }
}
