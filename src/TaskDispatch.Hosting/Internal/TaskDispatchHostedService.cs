using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>Runs every dispatcher registered in the container with the host: each is built (and so validated) when the
/// host starts, so that bad settings fail the start instead of the first request; each drains when the host stops,
/// before the container is disposed, so that handler tasks can still have their scopes.</summary>
internal sealed class TaskDispatchHostedService(IServiceProvider services, ILogger<TaskDispatchHostedService> logger) : IHostedService
{
    private readonly List<TaskDispatcher> _started = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var registration in services.GetKeyedServices<TaskDispatchRegistration>(KeyedService.AnyKey))
        {
            if (!names.Add(registration.Name))
            {
                continue;
            }

            ITaskDispatcher dispatcher;
            try
            {
                dispatcher = services.GetRequiredKeyedService<ITaskDispatcher>(registration.Name);
            }
            catch (Exception exception)
            {
                throw ConfigurationErrors.StartFailure(registration, exception);
            }

            if (dispatcher is TaskDispatcher started)
            {
                _started.Add(started);
            }

            HostingLog.DispatcherHosted(logger, registration.Name);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // In parallel, each as its options say (drain by default), and forced when the host's shutdown token fires.
        await Task.WhenAll(_started.Select(dispatcher => dispatcher.StopAsConfiguredAsync(cancellationToken))).ConfigureAwait(false);
    }
}
