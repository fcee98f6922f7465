// A cluster of two worker processes on PostgreSQL: `dotnet run --project samples/Cluster`.
//
// Needs a PostgreSQL server in TASKDISPATCH_POSTGRES (eval "$(eng/postgres.sh start)" starts a throw-away one). The
// sample runs itself twice as a worker process: worker-a (weight 1) and worker-b (weight 3) join the cluster "sample"
// with one node of 4 slots each. This process is a member without nodes: it submits 40 image resizes, which the
// weighted random strategy places on the workers about 1:3, waits for every result, looks one task up by id, cancels
// one that has not started, stops the workers (by closing their stdin) and drops the schema it used.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Npgsql;
using TaskDispatch;

const string ClusterName = "sample";
const int TaskCount = 40;
const int Seed = 2026;

var connectionString = Environment.GetEnvironmentVariable("TASKDISPATCH_POSTGRES");
if (string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine("""
        TASKDISPATCH_POSTGRES is not set: this sample needs a PostgreSQL server. Start a throw-away one from the
        repository root with
            eval "$(eng/postgres.sh start)"
        run the sample again, and stop the server afterwards with eng/postgres.sh stop.
        """);
    return 2;
}

if (args is ["worker", var nodeName, var weight, var workerSchema])
{
    return await RunWorkerAsync(connectionString, nodeName, double.Parse(weight, CultureInfo.InvariantCulture), workerSchema);
}

return await RunSubmitterAsync(connectionString);

static TaskClusterBuilder Member(string connectionString, string schema, ILoggerFactory loggerFactory, Random random) =>
    new TaskClusterBuilder(ClusterName)
        .UsePostgreSqlStore(connectionString, options => options.Schema = schema)
        .UseLoggerFactory(loggerFactory)
        .UseAllocation(AllocationStrategy.WeightedRandom(random))
        .AddHandler<ResizeImage, ResizeRequest, ResizeResult>("resize-image", SampleJson.Default.ResizeRequest, SampleJson.Default.ResizeResult);

static ILoggerFactory Logging() => LoggerFactory.Create(logging => logging
    .SetMinimumLevel(LogLevel.Warning)
    .AddSimpleConsole(console => console.SingleLine = true)
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));

static async Task<int> RunWorkerAsync(string connectionString, string nodeName, double weight, string schema)
{
    using var loggerFactory = Logging();
    TaskCluster cluster;
    try
    {
        cluster = await Member(connectionString, schema, loggerFactory, new Random())
            .AddNode(nodeName, node => node.WithConcurrency(4).WithWeight(weight))
            .BuildAsync();
    }
    catch (Exception exception) when (exception is NpgsqlException or TaskStoreException or InvalidOperationException)
    {
        Console.Error.WriteLine($"could not join the cluster: {exception.Message}");
        return 1;
    }

    await using (cluster)
    {
        Console.WriteLine($"joined as member {cluster.MemberId} (pid {Environment.ProcessId})");

        // The submitter closes this process's stdin to stop it (and so does its death): leave the cluster then.
        await Console.In.ReadToEndAsync();
        await cluster.StopAsync(TimeSpan.FromSeconds(5));
        Console.WriteLine($"left the cluster after running {ResizeImage.Runs} task(s); refused writes: {cluster.RefusedWrites}");
    }

    return 0;
}

static async Task<int> RunSubmitterAsync(string connectionString)
{
    var clock = Stopwatch.StartNew();
    var schema = $"sample_cluster_{Guid.NewGuid():N}"[..23];
    var server = new NpgsqlConnectionStringBuilder(connectionString);
    await using var dataSource = NpgsqlDataSource.Create(connectionString);
    try
    {
        await using var connection = await dataSource.OpenConnectionAsync();
    }
    catch (NpgsqlException exception)
    {
        Console.Error.WriteLine($"Cannot reach PostgreSQL at {server.Host}:{server.Port} (TASKDISPATCH_POSTGRES): {exception.Message}");
        Console.Error.WriteLine("Start a throw-away server from the repository root with: eval \"$(eng/postgres.sh start)\"");
        return 2;
    }

    Console.WriteLine($"Cluster '{ClusterName}' in schema {schema} on {server.Host}:{server.Port}");
    using var loggerFactory = Logging();
    var workers = new List<Worker>();
    var ok = true;
    var completed = 0;
    var processes = 0;
    try
    {
        // The workers register their nodes while they join; this member, joining after them, sees both at once.
        workers.Add(Worker.Start("worker-a", weight: 1, schema));
        workers.Add(Worker.Start("worker-b", weight: 3, schema));
        await Task.WhenAll(workers.Select(worker => worker.Joined)).WaitAsync(TimeSpan.FromSeconds(30));
        Console.WriteLine($"Both workers joined after {clock.ElapsedMilliseconds} ms");

        var cluster = await Member(connectionString, schema, loggerFactory, new Random(Seed)).BuildAsync();
        await using (cluster)
        {
            var nodes = await WaitForLiveNodesAsync(cluster, ["worker-a", "worker-b"], TimeSpan.FromSeconds(10));
            foreach (var node in nodes)
            {
                Console.WriteLine($"  {node.Name}: pid {node.ProcessId}, {node.Slots} slots, weight {node.Weight}, {(node.IsAlive ? "alive" : "dead")}");
            }

            var submitted = Stopwatch.StartNew();
            var handles = await cluster.SubmitManyAsync<ResizeImage, ResizeRequest, ResizeResult>(
                Enumerable.Range(1, TaskCount).Select(index => new ResizeRequest($"photo-{index:D2}.jpg", Width: 640, Height: 480)));
            Console.WriteLine($"Submitted {handles.Count} tasks (committed in {submitted.ElapsedMilliseconds} ms)");

            var results = new List<ResizeResult>();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            foreach (var handle in handles)
            {
                try
                {
                    results.Add(await handle.Completion.WaitAsync(patience.Token));
                }
                catch (Exception exception)
                {
                    Console.WriteLine($"  task {handle.Id} ended {handle.State}: {exception.Message}");
                    ok = false;
                }
            }

            Console.WriteLine($"{results.Count} results in {submitted.ElapsedMilliseconds} ms after submitting; by node, from the results:");
            foreach (var group in results.GroupBy(result => (result.Node, result.ProcessId)).OrderBy(group => group.Key.Node, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {group.Key.Node} (pid {group.Key.ProcessId}): {group.Count()} tasks");
            }

            Console.WriteLine("The nodes, from GetNodesAsync:");
            foreach (var node in await cluster.GetNodesAsync())
            {
                Console.WriteLine($"  {node}: weight {node.Weight}, member {node.Member}");
            }

            var found = await cluster.FindAsync(handles[0].Id);
            Console.WriteLine(found is null
                ? $"FindAsync({handles[0].Id}): not found"
                : $"FindAsync({found.Id}): {found.State} on {found.Node} after {found.Deliveries} delivery(ies), result {found.ResultJson}");
            ok &= found is { State: TaskState.Completed };

            ok &= await CancelOneAsync(cluster);

            completed = results.Count;
            processes = results.Select(result => result.ProcessId).Distinct().Count();
            ok &= completed == TaskCount && processes == workers.Count;

            foreach (var worker in workers)
            {
                ok &= await worker.StopAsync(TimeSpan.FromSeconds(15));
            }
        }

        Console.WriteLine($"Done in {clock.ElapsedMilliseconds} ms");
    }
    catch (Exception exception)
    {
        Console.Error.WriteLine($"cluster sample FAILED: {exception}");
        ok = false;
    }
    finally
    {
        foreach (var worker in workers)
        {
            worker.Dispose();
        }

        try
        {
            await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE");
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException exception)
        {
            Console.Error.WriteLine($"Could not drop schema {schema}: {exception.Message}");
            ok = false;
        }
    }

    Console.WriteLine($"cluster sample{(ok ? "" : " FAILED")}: {completed} of {TaskCount} tasks completed across {processes} worker processes");
    return ok ? 0 : 1;
}

// Waits until the store shows every one of the named nodes alive: heartbeating, and its member's session open.
static async Task<IReadOnlyList<ClusterNodeInfo>> WaitForLiveNodesAsync(TaskCluster cluster, string[] names, TimeSpan timeout)
{
    var deadline = Stopwatch.StartNew();
    while (true)
    {
        var nodes = await cluster.GetNodesAsync();
        if (names.All(name => nodes.Any(node => node.Name == name && node.IsAlive)))
        {
            Console.WriteLine($"GetNodesAsync shows {string.Join(" and ", names)} alive");
            return nodes;
        }

        if (deadline.Elapsed > timeout)
        {
            throw new TimeoutException($"The nodes {string.Join(", ", names)} were not all alive after {timeout}: {string.Join("; ", nodes)}");
        }

        await Task.Delay(100);
    }
}

// Submits a task that waits a minute before it may start, and cancels it by id: it ends Cancelled without running.
static async Task<bool> CancelOneAsync(TaskCluster cluster)
{
    var handle = await cluster.SubmitAsync<ResizeImage, ResizeRequest, ResizeResult>(
        new ResizeRequest("later.jpg", 1920, 1080), new TaskOptions { Delay = TimeSpan.FromMinutes(1) });
    var cancelled = await cluster.CancelAsync(handle.Id);
    try
    {
        await handle.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Console.WriteLine($"CancelAsync({handle.Id}) returned {cancelled}, but the task completed");
        return false;
    }
    catch (OperationCanceledException)
    {
        var info = await cluster.FindAsync(handle.Id);
        Console.WriteLine($"CancelAsync({handle.Id}) returned {cancelled}; the handle ended {handle.State}; the store says {info?.State}, {info?.Deliveries} deliveries");
        return cancelled && info is { State: TaskState.Cancelled, Deliveries: 0 };
    }
}

/// <summary>An image to resize.</summary>
internal sealed record ResizeRequest(string Image, int Width, int Height);

/// <summary>A resized image, and where it was resized.</summary>
internal sealed record ResizeResult(string Image, int Width, int Height, string Node, int ProcessId, bool Resumed);

/// <summary>Source-generated JSON contracts for the inputs, results and checkpoints the cluster stores.</summary>
[JsonSerializable(typeof(ResizeRequest))]
[JsonSerializable(typeof(ResizeResult))]
[JsonSerializable(typeof(int))]
internal sealed partial class SampleJson : JsonSerializerContext;

/// <summary>"Resizes" an image in two steps of about 10 ms, saving a checkpoint after the first: a node that takes the
/// task over after its first node died resumes at step two.</summary>
internal sealed class ResizeImage : ITaskHandler<ResizeRequest, ResizeResult>
{
    private static int s_runs;

    /// <summary>Gets how many tasks this process ran.</summary>
    internal static int Runs => Volatile.Read(ref s_runs);

    public async ValueTask<ResizeResult> HandleAsync(ResizeRequest input, TaskContext context)
    {
        var step = await context.LoadCheckpointAsync(SampleJson.Default.Int32, context.CancellationToken);
        var resumed = step == 1;
        if (!resumed)
        {
            await Task.Delay(10, context.CancellationToken);
            await context.SaveCheckpointAsync(1, SampleJson.Default.Int32, context.CancellationToken);
        }

        await Task.Delay(10, context.CancellationToken);
        Interlocked.Increment(ref s_runs);
        return new ResizeResult(input.Image, input.Width / 2, input.Height / 2, context.NodeName, Environment.ProcessId, resumed);
    }
}

/// <summary>A worker process: this program run as `dotnet Cluster.dll worker name weight schema`, its output shown here.</summary>
internal sealed class Worker : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _output;
    private readonly Task _errors;

    private Worker(string name, Process process)
    {
        Name = name;
        _process = process;
        _output = ForwardAsync(process.StandardOutput, joins: true);
        _errors = ForwardAsync(process.StandardError, joins: false);
    }

    internal string Name { get; }

    /// <summary>Completes once the worker has joined the cluster (its node is registered).</summary>
    internal Task Joined => _joined.Task;

    internal static Worker Start(string name, double weight, string schema)
    {
        // Run under the same host as this process when it is `dotnet` itself (dotnet run, dotnet Cluster.dll).
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Worker).Assembly.Location);
        start.ArgumentList.Add("worker");
        start.ArgumentList.Add(name);
        start.ArgumentList.Add(weight.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(schema);
        return new Worker(name, Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}."));
    }

    /// <summary>Closes the worker's stdin (it leaves the cluster and exits) and waits for it.</summary>
    internal async Task<bool> StopAsync(TimeSpan timeout)
    {
        _process.StandardInput.Close();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            await Task.WhenAll(_output, _errors);
        }
        catch (TimeoutException)
        {
            Console.WriteLine($"  {Name} did not exit within {timeout}");
            return false;
        }

        if (_process.ExitCode != 0)
        {
            Console.WriteLine($"  {Name} exited with {_process.ExitCode}");
        }

        return _process.ExitCode == 0;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private async Task ForwardAsync(StreamReader reader, bool joins)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            Console.WriteLine($"  {Name} | {line}");
            if (joins && line.StartsWith("joined", StringComparison.Ordinal))
            {
                _joined.TrySetResult();
            }
        }

        _joined.TrySetException(new InvalidOperationException($"{Name} exited before it joined the cluster."));
    }
}
