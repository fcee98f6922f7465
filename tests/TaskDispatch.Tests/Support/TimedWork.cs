using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace TaskDispatch.Tests.Support;

/// <summary>Work that runs for a given time on the dispatcher's clock (<c>Task.Delay</c> on <see cref="TaskContext.TimeProvider"/>),
/// and a driver that advances a <see cref="FakeTimeProvider"/> by exactly each started task's duration, one task at a
/// time. For dispatchers with a single slot.</summary>
public sealed class TimedWork
{
    private readonly ConcurrentQueue<Start> _starts = new();
    private int _driven;

    /// <summary>Gets the starts so far, in order.</summary>
    public IReadOnlyList<Start> Starts => _starts.ToArray();

    /// <summary>Creates the work of a task; every call returns the same kind of work (one delegate method).</summary>
    public Func<TaskContext, ValueTask> For(string name, TimeSpan duration) => context => RunAsync(context, name, duration);

    /// <summary>Runs for <paramref name="duration"/> of the dispatcher's clock; call it from lambdas of your own to get
    /// kinds of your own (each lambda is a kind).</summary>
    public async ValueTask RunAsync(TaskContext context, string name, TimeSpan duration)
    {
        var startedAt = context.TimeProvider.GetUtcNow();

        // The delay's timer exists before the start is published, so the driver never advances the clock past a timer
        // that does not exist yet.
        var delay = Task.Delay(duration, context.TimeProvider, context.CancellationToken);
        _starts.Enqueue(new Start(name, duration, startedAt));
        await delay;
    }

    /// <summary>Runs the next <paramref name="count"/> tasks: waits for each to start, then advances the clock by its duration.</summary>
    public async Task DriveAsync(FakeTimeProvider fake, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var index = _driven++;
            await TestTimeouts.WaitUntilAsync(() => _starts.Count > index, $"start #{index} happened");
            fake.Advance(Starts[index].Duration);
        }
    }

    public sealed record Start(string Name, TimeSpan Duration, DateTimeOffset StartedAt);
}
