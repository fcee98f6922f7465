using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TaskDispatch;

/// <summary>A task submitted to a cluster that produces a <typeparamref name="TResult"/>; <c>await handle</c> returns it
/// once a member has run the task and its acknowledgement is committed.</summary>
/// <typeparam name="TResult">The task's result.</typeparam>
public sealed class ClusterTaskHandle<TResult> : ClusterTaskHandle
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly JsonTypeInfo<TResult> _resultType;

    internal ClusterTaskHandle(string id, JsonTypeInfo<TResult> resultType)
        : base(id) => _resultType = resultType;

    /// <summary>Gets a task that completes with the task's result.</summary>
    public new Task<TResult> Completion => _completion.Task;

    /// <inheritdoc />
    private protected override Task UntypedCompletion => _completion.Task;

    /// <summary>Gets an awaiter so that <c>await handle</c> returns the task's result.</summary>
    /// <returns>The awaiter.</returns>
    public TaskAwaiter<TResult> GetAwaiter() => _completion.Task.GetAwaiter();

    /// <inheritdoc />
    public override string ToString() => $"{Id} ({State})";

    private protected override void SetResult(string? resultJson)
    {
        try
        {
            _completion.TrySetResult(resultJson is null ? default! : JsonSerializer.Deserialize(resultJson, _resultType)!);
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException)
        {
            _completion.TrySetException(new RecordedTaskException($"The task completed, but its result no longer reads as {typeof(TResult).Name}: {exception.Message}", exception));
        }
    }

    private protected override void SetCancelled() => _completion.TrySetCanceled();

    private protected override void SetFailed(Exception exception) => _completion.TrySetException(exception);
}
