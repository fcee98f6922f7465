using System.Text.Json.Serialization;
using TaskDispatch;

// A task that processes 1,000 items and saves a checkpoint after each one. Its first attempt dies at item 600 when
// its node fails; the dispatcher moves it to the other node, where the second attempt resumes at item 600.
await using var dispatcher = new TaskDispatcherBuilder()
    .AddNode("node-a", node => node.WithConcurrency(1))
    .AddNode("node-b", node => node.WithConcurrency(1))
    .Build();

const int ItemCount = 1_000;
const int NodeFailsAtItem = 600;
var attempts = new List<string>();

var handle = await dispatcher.SubmitAsync(async context =>
{
    // Resume where the last attempt stopped, or start at 0.
    var progress = await context.LoadCheckpointAsync(CheckpointJson.Default.BatchProgress, context.CancellationToken);
    var item = progress?.NextItem ?? 0;
    var startedAt = item;
    try
    {
        for (; item < ItemCount; item++)
        {
            if (context.Attempt == 1 && item == NodeFailsAtItem)
            {
                throw new NodeFailureException($"{context.NodeName} lost power at item {item}.") { NodeName = context.NodeName };
            }

            ProcessItem(item);
            await context.SaveCheckpointAsync(new BatchProgress(item + 1), CheckpointJson.Default.BatchProgress, context.CancellationToken);
        }
    }
    finally
    {
        attempts.Add($"attempt {context.Attempt} on {context.NodeName} ran items {startedAt}-{item - 1}");
    }

    return item;
});

var processed = await handle;
Console.WriteLine(string.Join(Environment.NewLine, attempts));
Console.WriteLine($"Processed {processed} items in {handle.Attempts} attempts; the second resumed at item {NodeFailsAtItem}.");

static void ProcessItem(int item) => _ = item * 2;

/// <summary>How far the batch got: the next item to process.</summary>
internal sealed record BatchProgress(int NextItem);

/// <summary>Serializes the checkpoint without reflection.</summary>
[JsonSerializable(typeof(BatchProgress))]
internal sealed partial class CheckpointJson : JsonSerializerContext;
