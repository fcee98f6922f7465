// The child of the SQLite crash test: opens the store (replaying whatever the last process left), submits every task
// "task-{n}" (n below the total) that ack.log does not list yet, appends each acknowledged id to ack.log the
// moment its submission returns, and has every run of the handler append its id and attempt to runs.log. Both logs
// are written straight to the OS (no user-space buffer), so they survive a SIGKILL. With "finish" it exits once every
// task has ended; otherwise it runs until it is killed. With "open" in place of the total it only opens the store.
using Microsoft.Extensions.DependencyInjection;
using TaskDispatch;
using TaskDispatch.Sqlite.CrashChild;

var directory = args[0];
if (args[1] == "open")
{
    // Only opens the store and says how that went: for the test of a file this user may not write.
    try
    {
        await using var opened = new TaskDispatcherBuilder().UseSqliteStore(Path.Combine(directory, "tasks.db")).Build();
        Console.WriteLine("opened");
    }
    catch (TaskStoreException exception)
    {
        Console.WriteLine($"store error: {exception.Message}");
    }

    return;
}

var total = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var finish = args.Length > 2 && args[2] == "finish";

var ackPath = Path.Combine(directory, "ack.log");
var acknowledged = File.Exists(ackPath) ? File.ReadLines(ackPath).Where(static line => line.Length > 0).ToHashSet() : [];
var toSubmit = Enumerable.Range(0, total).Where(n => !acknowledged.Contains($"task-{n}")).ToArray();

using var runs = new AppendLog(Path.Combine(directory, "runs.log"));
using var acks = new AppendLog(ackPath);
var services = new ServiceCollection().AddSingleton(runs).BuildServiceProvider();
await using var dispatcher = new TaskDispatcherBuilder()
    .UseServiceProvider(services)
    .UseSqliteStore(Path.Combine(directory, "tasks.db"))
    .UseRecovery(RecoveryPolicy.Retry(options => options.MaxRetryAttempts = 100))
    .AddNode("local", node => node.WithConcurrency(4))
    .Build();
Console.WriteLine($"started; {dispatcher.LiveTaskCount} tasks replayed; {toSubmit.Length} to submit");

// Every task not yet acknowledged is submitted (again): one that reached the store before the kill but not the log
// returns as the same task, since its id is taken.
var submitters = Enumerable.Range(0, 4).Select(lane => Task.Run(async () =>
{
    for (var i = lane; i < toSubmit.Length; i += 4)
    {
        var n = toSubmit[i];
        await dispatcher.SubmitAsync<RecordingHandler, int, int>(n, new TaskOptions { Id = $"task-{n}" });
        acks.Append($"task-{n}");
    }
}));
await Task.WhenAll(submitters);
Console.WriteLine("all submitted");

if (finish)
{
    while (dispatcher.LiveTaskCount > 0)
    {
        await Task.Delay(20);
    }

    Console.WriteLine("all ended");
    return;
}

await Task.Delay(Timeout.Infinite);
