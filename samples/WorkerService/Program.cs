using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using TaskDispatch;
using TaskDispatch.Simulation;
using WorkerService;

// A worker service: the dispatcher comes from appsettings.json (options, nodes, policies by name), starts and stops
// with the host, drains its queue on shutdown, and reports health and metrics.
// appsettings.json is read from beside the program, so that `dotnet run --project` works from any directory.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddTaskHandler<ThumbnailHandler>();
var dispatch = builder.Services.AddTaskDispatch(builder.Configuration.GetSection("TaskDispatch"));

// With --Sample:TracePath=trace.csv the worker records what it ran (arrival, kind, options, duration of each job), for
// samples/PolicyLab --trace to replay under every policy: how to take a trace from production.
var tracePath = builder.Configuration["Sample:TracePath"];
var recorder = tracePath is null ? null : new TaskTraceRecorder();
if (recorder is not null)
{
    dispatch.AddObserver(recorder);
}

builder.Services.AddHealthChecks().AddTaskDispatch();
builder.Services.AddHostedService<JobProducer>();
if (builder.Configuration.GetValue("Sample:ExportMetrics", true))
{
    // The OpenTelemetry SDK reads the TaskDispatch meter and prints each instrument when the host stops.
    builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
        .AddMeter(TaskDispatchMetrics.MeterName)
        .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 60_000));
}

using var host = builder.Build();
await host.StartAsync();
await host.WaitForShutdownAsync();

var statistics = host.Services.GetRequiredService<ITaskDispatcher>().GetStatistics();
Console.WriteLine(statistics);
if (recorder is not null)
{
    recorder.ToTrace().Save(tracePath!);
    Console.WriteLine($"trace: {recorder.Count} jobs recorded to {Path.GetFullPath(tracePath!)}");
}

var jobs = builder.Configuration.GetValue("Sample:Jobs", 24);
Console.WriteLine($"worker sample: {statistics.TasksCompleted} of {jobs} jobs completed, {statistics.Recovery.Restarts} retried, {statistics.TasksCancelled} cancelled by the shutdown");
return statistics.TasksCompleted == jobs ? 0 : 1;
