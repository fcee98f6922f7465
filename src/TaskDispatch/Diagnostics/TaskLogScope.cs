using System.Collections;
using System.Globalization;

namespace TaskDispatch;

/// <summary>The logging scope an attempt's work runs in: every line it logs through the same logger factory carries
/// <c>TaskId</c>, <c>Attempt</c> and <c>NodeName</c> (structured, for providers that record scopes).</summary>
/// <remarks>Written by hand rather than with <c>LoggerMessage.DefineScope</c> so that it holds the task, not its id: a
/// generated id is formatted only if a provider reads the scope.</remarks>
internal sealed class TaskLogScope(TaskHandle task, int attempt, string nodeName) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 3;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("TaskId", task.Id),
        1 => new("Attempt", attempt),
        2 => new("NodeName", nodeName),
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "A task's logging scope has 3 entries."),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"TaskId:{task.Id} Attempt:{attempt} NodeName:{nodeName}");
}
