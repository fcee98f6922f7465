using Microsoft.Extensions.DependencyInjection;
using TaskDispatch;

// The child side: count the words given on the command line and print the count.
if (args is ["--count-words", var words])
{
    Console.WriteLine(WordCountHandler.Count(words));
    return;
}

// The parent side: the node "isolated" runs its attempts through the child-process executor.
var services = new ServiceCollection();
services.AddTaskDispatch()
    .AddNode("isolated", node => node.WithConcurrency(2).WithExecutor(new ChildProcessNodeExecutor()));
await using var provider = services.BuildServiceProvider();
var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

var texts = new[] { "the quick brown fox", "jumps over the lazy dog", "hello" };
var handles = new List<TaskHandle<int>>();
foreach (var text in texts)
{
    handles.Add(await dispatcher.SubmitAsync<WordCountHandler, string, int>(text));
}

var counts = new List<int>();
foreach (var handle in handles)
{
    counts.Add(await handle);
}

Console.WriteLine($"Word counts from child processes: {string.Join(", ", counts)}");
