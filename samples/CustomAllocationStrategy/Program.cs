using TaskDispatch;

await using var dispatcher = new TaskDispatcherBuilder()
    .UseAllocation(new CheapestFirstStrategy())
    .AddNode("reserved", node => node.WithConcurrency(4))
    .AddNode("on-demand", node => node.WithConcurrency(2).WithTags("on-demand"))
    .AddNode("spot", node => node.WithConcurrency(2).WithTags("spot"))
    .Build();

// Hold every slot at once, so the strategy's spill order shows: spot first, then on-demand, then reserved.
var release = new TaskCompletionSource();
var handles = new List<TaskHandle<string>>();
for (var i = 0; i < 8; i++)
{
    handles.Add(await dispatcher.SubmitAsync(async context =>
    {
        await release.Task;
        return context.NodeName;
    }));
}

release.SetResult();
var placements = new List<string>();
foreach (var handle in handles)
{
    placements.Add(await handle);
}

Console.WriteLine($"Placements in submission order: {string.Join(", ", placements)}");
