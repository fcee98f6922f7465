using TaskDispatch;

/// <summary>Counts the words of a text, in this process.</summary>
internal sealed class WordCountHandler : ITaskHandler<string, int>
{
    public static int Count(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    public ValueTask<int> HandleAsync(string input, TaskContext context) => ValueTask.FromResult(Count(input));
}
