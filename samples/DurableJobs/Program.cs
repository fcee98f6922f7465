// Durable jobs on SQLite, killed and restarted: `dotnet run --project samples/DurableJobs`.
//
// The sample runs itself twice as a worker process. The first worker accepts 12 report jobs (each is on disk before
// SubmitAsync returns) and starts on them; once three are done, this process kills it with SIGKILL, mid-job. The second
// worker opens the same file, replays the jobs that had not ended (the interrupted ones resume from their checkpoint)
// and finishes them. Then the outcomes are read back from the store by id.
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using TaskDispatch;

const int JobCount = 12;

if (args is ["worker", var workerDirectory, var mode])
{
    await RunWorkerAsync(workerDirectory, submit: mode == "submit");
    return;
}

var directory = Directory.CreateTempSubdirectory("durable-jobs-").FullName;
Console.WriteLine($"Store: {Path.Combine(directory, "jobs.db")}");
try
{
    using (var first = StartWorker(directory, "submit"))
    {
        var done = 0;
        while (done < 3 && await first.StandardOutput.ReadLineAsync() is { } line)
        {
            Console.WriteLine($"  worker 1: {line}");
            if (line.StartsWith("finished", StringComparison.Ordinal))
            {
                done++;
            }
        }

        first.Kill();
        await first.WaitForExitAsync();
        Console.WriteLine("Killed worker 1 with SIGKILL, mid-job.");
    }

    using (var second = StartWorker(directory, "resume"))
    {
        while (await second.StandardOutput.ReadLineAsync() is { } line)
        {
            Console.WriteLine($"  worker 2: {line}");
        }

        await second.WaitForExitAsync();
        if (second.ExitCode != 0)
        {
            throw new InvalidOperationException($"worker 2 exited with {second.ExitCode}");
        }
    }
}
finally
{
    Directory.Delete(directory, recursive: true);
}

static Process StartWorker(string directory, string mode)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
    start.ArgumentList.Add(typeof(Report).Assembly.Location);
    start.ArgumentList.Add("worker");
    start.ArgumentList.Add(directory);
    start.ArgumentList.Add(mode);
    return Process.Start(start)!;
}

static async Task RunWorkerAsync(string directory, bool submit)
{
    var services = new ServiceCollection().BuildServiceProvider();
    await using var dispatcher = new TaskDispatcherBuilder()
        .UseServiceProvider(services)
        .UseSqliteStore(Path.Combine(directory, "jobs.db"))
        .AddHandler<ReportHandler, Report, string>("report")
        .AddNode("local", node => node.WithConcurrency(2))
        .Build();

    if (submit)
    {
        for (var i = 1; i <= JobCount; i++)
        {
            // Short and long reports alternate, so that a long one is half done when the third report finishes.
            await dispatcher.SubmitAsync<ReportHandler, Report, string>(new Report(i, Pages: i % 2 == 0 ? 8 : 3), new TaskOptions { Id = $"report-{i}" });
        }

        Console.WriteLine($"accepted {JobCount} jobs");
        await Task.Delay(Timeout.Infinite);
    }

    Console.WriteLine($"replayed {dispatcher.LiveTaskCount} unfinished jobs from the store");
    while (dispatcher.LiveTaskCount > 0)
    {
        await Task.Delay(20);
    }

    var completed = 0;
    for (var i = 1; i <= JobCount; i++)
    {
        if (await dispatcher.FindAsync($"report-{i}") is { State: TaskState.Completed })
        {
            completed++;
        }
    }

    Console.WriteLine($"{completed} of {JobCount} jobs completed; none lost");
}

/// <summary>A report to render, page by page.</summary>
internal sealed record Report(int Number, int Pages);

/// <summary>Renders a report a page at a time, saving a checkpoint after each page, so a restart resumes mid-report.</summary>
internal sealed class ReportHandler : ITaskHandler<Report, string>
{
    public async ValueTask<string> HandleAsync(Report input, TaskContext context)
    {
        var page = await context.LoadCheckpointAsync<int>();
        if (page > 0)
        {
            Console.WriteLine($"resumed report-{input.Number} at page {page + 1} of {input.Pages} (attempt {context.Attempt})");
        }

        for (; page < input.Pages; page++)
        {
            await Task.Delay(50, context.CancellationToken);
            await context.SaveCheckpointAsync(page + 1);
        }

        Console.WriteLine($"finished report-{input.Number}");
        return $"report-{input.Number}: {input.Pages} pages";
    }
}
