using TaskDispatch;

// One slot, so the order in which waiting tasks start is exactly the policy's order.
await using var dispatcher = new TaskDispatcherBuilder()
    .UseScheduling(new InteractiveFirstPolicy())
    .AddNode("single", node => node.WithConcurrency(1))
    .Build();

// Hold the slot while the backlog builds up.
var release = new TaskCompletionSource();
var blocker = await dispatcher.SubmitAsync(async _ => await release.Task);

var started = new List<string>();
var handles = new List<TaskHandle>();
foreach (var (name, kind) in new[] { ("report-1", "batch"), ("click-1", "interactive"), ("report-2", "batch"), ("click-2", "interactive") })
{
    handles.Add(await dispatcher.SubmitAsync(_ =>
    {
        lock (started)
        {
            started.Add(name);
        }

        return ValueTask.CompletedTask;
    }, new TaskOptions { Kind = kind }));
}

release.SetResult();
await blocker;
foreach (var handle in handles)
{
    await handle;
}

Console.WriteLine($"Start order: {string.Join(", ", started)}");
