using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>The services of a member built without a container: none but scopes of themselves, so handlers are
/// constructed with their parameterless constructor.</summary>
internal sealed class EmptyServices : IServiceProvider, IServiceScopeFactory, IServiceScope
{
    internal static readonly EmptyServices Instance = new();

    public IServiceProvider ServiceProvider => this;

    public object? GetService(Type serviceType) => serviceType == typeof(IServiceScopeFactory) ? this : null;

    public IServiceScope CreateScope() => this;

    public void Dispose()
    {
    }
}
