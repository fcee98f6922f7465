using System.Collections.Concurrent;

namespace TaskDispatch.Tests.Support;

/// <summary>Counts what an observer hears, per task.</summary>
public sealed class RecordingObserver : ITaskObserver
{
    public ConcurrentDictionary<string, int> Completions { get; } = new();

    public ConcurrentQueue<TaskStateChange> Changes { get; } = new();

    public ConcurrentDictionary<string, int> TerminalChanges { get; } = new();

    public bool RecordChanges { get; init; } = true;

    public void OnStateChanged(TaskStateChange change)
    {
        if (RecordChanges)
        {
            Changes.Enqueue(change);
        }

        if (change.IsTerminal)
        {
            TerminalChanges.AddOrUpdate(change.Task.Id, 1, static (_, n) => n + 1);
        }
    }

    public void OnCompleted(TaskHandle task) => Completions.AddOrUpdate(task.Id, 1, static (_, n) => n + 1);
}
