using System.Collections.Concurrent;

namespace TaskDispatch.Tests.Support;

/// <summary>Work that records when it starts (on the dispatcher's clock) and then runs until the test releases it by
/// name, so that a test decides exactly when each slot frees. The work ends early if its attempt is cancelled, so a
/// dispatcher stopped with <see cref="ShutdownMode.Cancel"/> never waits for it.</summary>
public sealed class StepwiseWork
{
    private readonly ConcurrentDictionary<string, Signal> _releases = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Name, DateTimeOffset StartedAt)> _starts = new();

    /// <summary>Gets the starts so far, in order.</summary>
    public IReadOnlyList<(string Name, DateTimeOffset StartedAt)> Starts => _starts.ToArray();

    public int StartCount => _starts.Count;

    /// <summary>Creates the work of the task called <paramref name="name"/>. Every call returns the same kind of work.</summary>
    public Func<TaskContext, ValueTask> For(string name) => async context =>
    {
        var release = GetRelease(name);
        _starts.Enqueue((name, context.TimeProvider.GetUtcNow()));
        await release.Task.WaitAsync(context.CancellationToken);
    };

    /// <summary>Lets the task called <paramref name="name"/> finish (now, or as soon as it starts).</summary>
    public void Release(string name) => GetRelease(name).Set();

    /// <summary>Waits until start number <paramref name="index"/> (from 0) has happened and returns it.</summary>
    public async Task<(string Name, DateTimeOffset StartedAt)> WaitForStartAsync(int index)
    {
        await TestTimeouts.WaitUntilAsync(() => _starts.Count > index, $"start #{index} happened");
        return Starts[index];
    }

    private Signal GetRelease(string name) => _releases.GetOrAdd(name, static _ => new Signal());
}
