namespace TaskDispatch.Tests.Support;

/// <summary>A one-shot signal a test awaits instead of sleeping.</summary>
public sealed class Signal
{
    private readonly TaskCompletionSource _source = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Task => _source.Task;

    public bool IsSet => _source.Task.IsCompleted;

    public void Set() => _source.TrySetResult();

    public ValueTask WaitAsync() => new(_source.Task.WaitAsync(TestTimeouts.Generous));
}
