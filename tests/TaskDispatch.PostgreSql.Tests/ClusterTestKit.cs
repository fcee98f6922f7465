using TaskDispatch.Tests.Support;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>Handlers and helpers the cluster tests share.</summary>
internal static class ClusterTestKit
{
    /// <summary>A builder for a member of a fresh cluster in <paramref name="schema"/>, with short leases and a short
    /// sweep for results (<paramref name="idleSweep"/>: how long a member waits for a notification before it reads every
    /// result it awaits).</summary>
    internal static TaskClusterBuilder Member(string cluster, string schema, TimeSpan? lease = null, TimeSpan? idleSweep = null, Action<PostgreSqlClusterOptions>? configure = null) =>
        new TaskClusterBuilder(cluster)
            .UsePostgreSqlStore(PostgresServer.ConnectionString, options =>
            {
                options.Schema = schema;
                options.LeaseDuration = lease ?? TimeSpan.FromSeconds(2);
                options.IdleSweepInterval = idleSweep ?? TimeSpan.FromSeconds(1);
                configure?.Invoke(options);
            })
            .AddHandler<Square, int, long>("square")
            .AddHandler<Gated, string, string>("gated")
            .AddHandler<Recorded, int, int>("recorded")
            .AddHandler<Echo, string, string>("echo");

    internal static async Task DropAsync(string schema) => await PostgresServer.ExecuteAsync($"DROP SCHEMA IF EXISTS {schema} CASCADE");

    internal static Task WaitUntilAsync(Func<bool> condition, string what) => TestTimeouts.WaitUntilAsync(condition, what);

    /// <summary>Polls an asynchronous <paramref name="condition"/> (a query) until it holds or a generous deadline passes.</summary>
    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Generous;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>Squares its input, and says which node did it through <see cref="LastNode"/>.</summary>
internal sealed class Square : ITaskHandler<int, long>
{
    public ValueTask<long> HandleAsync(int input, TaskContext context)
    {
        if (input < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(input), input, "negative input");
        }

        return ValueTask.FromResult((long)input * input);
    }
}

/// <summary>Returns its input, or fails with the rest of it as the message when it starts with <c>fail:</c>.</summary>
internal sealed class Echo : ITaskHandler<string, string>
{
    public ValueTask<string> HandleAsync(string input, TaskContext context) =>
        input.StartsWith("fail:", StringComparison.Ordinal)
            ? throw new InvalidOperationException(input["fail:".Length..])
            : ValueTask.FromResult(input);
}

/// <summary>Waits until its gate (named by its input) opens; records that it started.</summary>
internal sealed class Gated : ITaskHandler<string, string>
{
    internal static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> Gates = new();
    internal static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<string>> Started = new();

    internal static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> CancelledOn = new();

    internal static TaskCompletionSource Gate(string name) => Gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    internal static TaskCompletionSource<string> StartedSignal(string name) => Started.GetOrAdd(name, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async ValueTask<string> HandleAsync(string input, TaskContext context)
    {
        StartedSignal(input).TrySetResult(context.NodeName);
        try
        {
            await Gate(input).Task.WaitAsync(context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            CancelledOn[input] = context.NodeName;
            throw;
        }

        return $"{input} on {context.NodeName}";
    }
}

/// <summary>Records the order in which tasks start, per test (keyed by a test's own cluster name).</summary>
internal sealed class Recorded : ITaskHandler<int, int>
{
    internal static readonly System.Collections.Concurrent.ConcurrentQueue<int> Starts = new();

    public ValueTask<int> HandleAsync(int input, TaskContext context)
    {
        Starts.Enqueue(input);
        return ValueTask.FromResult(input);
    }
}
