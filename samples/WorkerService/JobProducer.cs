using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using TaskDispatch;

namespace WorkerService;

/// <summary>Submits the sample's jobs, reports the dispatcher's health, then asks the host to stop at once: the host
/// stops the dispatcher, which drains the jobs still queued before the process exits (what SIGTERM or Ctrl+C does too).</summary>
public sealed class JobProducer(ITaskDispatcher dispatcher, HealthCheckService health, IConfiguration configuration, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var jobs = configuration.GetValue("Sample:Jobs", 24);
        for (var i = 1; i <= jobs; i++)
        {
            await dispatcher.SubmitAsync(new Thumbnail(i), new TaskOptions { Id = $"thumbnail-{i}", Priority = i % 3 }, stoppingToken);
        }

        var report = await health.CheckHealthAsync(stoppingToken);
        var entry = report.Entries["taskdispatch-default"];
        Console.WriteLine($"health: {entry.Status} ({entry.Description})");
        lifetime.StopApplication();
    }
}
