using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>Words a dispatcher's bad settings as the user wrote them: the dispatcher's name and, for a dispatcher bound
/// from configuration, the configuration key.</summary>
internal static class ConfigurationErrors
{
    /// <summary>The error a host's start fails with when a dispatcher cannot be built.</summary>
    internal static InvalidOperationException StartFailure(TaskDispatchRegistration registration, Exception exception)
    {
        var key = KeyOf(registration, exception) is { } found ? $" (configuration key '{found}')" : string.Empty;
        return new InvalidOperationException($"TaskDispatch dispatcher '{registration.Name}' cannot start{key}: {exception.Message}", exception);
    }

    /// <summary>The configuration key of the setting a validation refused (by <see cref="ArgumentException.ParamName"/>),
    /// when the dispatcher was bound from configuration.</summary>
    internal static string? KeyOf(TaskDispatchRegistration registration, Exception exception) =>
        exception is ArgumentException { ParamName: { } parameter } && registration.ConfigurationKeys.TryGetValue(parameter, out var key) ? key : null;

    /// <summary>The error for a setting that configuration holds wrongly, found while binding.</summary>
    internal static InvalidOperationException Invalid(string dispatcherName, string key, string problem, Exception? inner = null) =>
        new($"TaskDispatch dispatcher '{dispatcherName}': configuration key '{key}' {problem}", inner);
}
