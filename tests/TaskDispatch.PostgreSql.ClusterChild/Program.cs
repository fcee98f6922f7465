using Microsoft.Extensions.Logging;
using System.Globalization;
using TaskDispatch;
using TaskDispatch.PostgreSql.ClusterChild;

// worker <cluster> <schema> <node> <weight> <slots> [resource]: joins with one node and runs until its stdin closes.
// submit <cluster> <schema> <count> <stepMs> [resourceDemand]: submits, waits for every handle, prints what ended how.
var connectionString = Environment.GetEnvironmentVariable("TASKDISPATCH_POSTGRES")
    ?? throw new InvalidOperationException("TASKDISPATCH_POSTGRES is not set.");
var leaseMs = int.Parse(Environment.GetEnvironmentVariable("TD_LEASE_MS") ?? "4000", CultureInfo.InvariantCulture);
var mode = args[0];
using var loggerFactory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(console => console.SingleLine = true));
var builder = new TaskClusterBuilder(args[1])
    .UseLoggerFactory(loggerFactory)
    .UsePostgreSqlStore(connectionString, options =>
    {
        options.Schema = args[2];
        options.LeaseDuration = TimeSpan.FromMilliseconds(leaseMs);
        options.IdleSweepInterval = TimeSpan.FromSeconds(2);
    })
    .UseAllocation((Environment.GetEnvironmentVariable("TD_ALLOCATION") ?? "round-robin") switch
    {
        "weighted-random" => AllocationStrategy.WeightedRandom(new Random(20261201)),
        "resource-fit" => AllocationStrategy.ResourceFit(),
        _ => AllocationStrategy.RoundRobin(),
    })
    .AddHandler<CheckpointedWork, WorkInput, WorkResult>("checkpointed-work");

if (mode == "worker")
{
    builder.AddNode(args[3], node =>
    {
        node.WithWeight(double.Parse(args[4], CultureInfo.InvariantCulture)).WithConcurrency(int.Parse(args[5], CultureInfo.InvariantCulture));
        if (args.Length > 6)
        {
            node.WithResource(args[6], 1);
        }
    });
    await using var cluster = await builder.BuildAsync();
    Console.WriteLine($"ready {cluster.MemberId}");
    await Console.In.ReadToEndAsync();
    await cluster.StopAsync(TimeSpan.FromSeconds(10));
    Console.WriteLine($"left, refused writes {cluster.RefusedWrites}");
}
else
{
    await using var cluster = await builder.BuildAsync();
    var count = int.Parse(args[3], CultureInfo.InvariantCulture);
    var stepMs = int.Parse(args[4], CultureInfo.InvariantCulture);
    var options = args.Length > 5 ? new TaskOptions { ResourceDemand = new Dictionary<string, double> { [args[5]] = 1 } } : null;
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var handles = await cluster.SubmitManyAsync<CheckpointedWork, WorkInput, WorkResult>(
        Enumerable.Range(0, count).Select(index => new WorkInput(index, stepMs)), options);
    Console.WriteLine($"submitted {handles.Count} in {clock.ElapsedMilliseconds} ms");
    var completed = 0;
    var failed = 0;
    foreach (var handle in handles)
    {
        try
        {
            await handle;
            completed++;
        }
        catch (Exception)
        {
            failed++;
        }
    }

    Console.WriteLine($"done {completed} completed {failed} failed after {clock.ElapsedMilliseconds} ms");
}
