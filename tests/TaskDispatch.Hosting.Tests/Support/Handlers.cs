using Microsoft.Extensions.Logging;

namespace TaskDispatch.Hosting.Tests.Support;

/// <summary>Waits for its gate, then returns its input doubled; logs a line from inside its work.</summary>
internal sealed partial class GatedDoubler(Gate gate, ILogger<GatedDoubler> logger) : ITaskHandler<int, int>
{
    public async ValueTask<int> HandleAsync(int input, TaskContext context)
    {
        Doubling(logger, input);
        await gate.Opened.WaitAsync(context.CancellationToken);
        return input * 2;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "doubling {Input}")]
    private static partial void Doubling(ILogger logger, int input);
}

/// <summary>A gate the test opens once; handlers wait on it.</summary>
internal sealed class Gate
{
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal Task Opened => _opened.Task;

    internal void Open() => _opened.TrySetResult();
}
