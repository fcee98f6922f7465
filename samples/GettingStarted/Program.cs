using Microsoft.Extensions.DependencyInjection;
using TaskDispatch;

// 1. Register a dispatcher: two nodes of different size; FCFS scheduling is the default, and weighted random
//    allocation sends about three tasks to "fast" for each one to "slow" (round-robin, the default, ignores weights).
var services = new ServiceCollection();
services.AddTaskDispatch(options => options.MaxPendingTasks = 1_000)
    .AddNode("fast", node => node.WithConcurrency(4).WithWeight(3))
    .AddNode("slow", node => node.WithConcurrency(2).WithWeight(1))
    .UseAllocation(AllocationStrategy.WeightedRandom())
    .OnTaskCompleted(task => Console.WriteLine($"  observer: {task.Id} ended {task.State} on {task.NodeName}"));

await using var provider = services.BuildServiceProvider();
var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

// 2. Submit work that returns a result, reports progress and honours cancellation.
var report = await dispatcher.SubmitAsync(async context =>
{
    for (var step = 1; step <= 4; step++)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(20), context.TimeProvider, context.CancellationToken);
        context.ReportProgress(step / 4.0, $"step {step} of 4");
    }

    return $"report built on node '{context.NodeName}'";
}, new TaskOptions { Id = "monthly-report", Priority = 5 });
// A handler added after submitting first hears the latest progress already reported: nothing is missed.
report.ProgressChanged += (_, progress) => Console.WriteLine($"  progress: {progress.Fraction:P0} ({progress.Message})");

// 3. Fan out many small tasks and await them all.
var squares = new List<TaskHandle<int>>();
for (var i = 1; i <= 10; i++)
{
    var n = i;
    squares.Add(await dispatcher.SubmitAsync(_ => ValueTask.FromResult(n * n)));
}

var sum = 0;
foreach (var square in squares)
{
    sum += await square;
}

Console.WriteLine($"Sum of squares 1..10 = {sum}");
Console.WriteLine($"Result: {await report}");

// 4. A failure reaches the submitter as the task's own exception.
var failing = await dispatcher.SubmitAsync<int>(_ => throw new InvalidOperationException("the input file is missing"));
try
{
    await failing;
}
catch (InvalidOperationException exception)
{
    Console.WriteLine($"Failed as expected: {exception.Message} (state {failing.State})");
}

// 5. Stop: let accepted work finish, within a deadline.
await dispatcher.StopAsync(ShutdownMode.Drain, TimeSpan.FromSeconds(5));
Console.WriteLine("Dispatcher stopped; every task reached exactly one terminal state.");
