namespace TaskDispatch.Sqlite.CrashChild;

/// <summary>Logs each run (id and attempt) and takes a moment, so that attempts are in flight when the kill comes.</summary>
public sealed class RecordingHandler(AppendLog runs) : ITaskHandler<int, int>
{
    public async ValueTask<int> HandleAsync(int input, TaskContext context)
    {
        runs.Append($"{context.TaskId} {context.Attempt}");
        await Task.Delay(1 + (input % 3), context.CancellationToken);
        return input;
    }
}
