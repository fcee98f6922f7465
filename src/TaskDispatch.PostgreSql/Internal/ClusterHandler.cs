using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TaskDispatch;

/// <summary>A handler a cluster runs, by name: its input is written as JSON by the submitter, read back by whichever
/// member leases the task, and run on that member's own dispatcher; its result goes back as JSON.</summary>
internal abstract class ClusterHandler(string name, Type handlerType)
{
    internal string Name { get; } = name;

    internal Type HandlerType { get; } = handlerType;

    /// <summary>Runs a leased task on the member's dispatcher, pinned to the node that leased it, and tells how it ended.</summary>
    internal abstract Task<LocalOutcome> RunAsync(TaskDispatcher local, string inputJson, TaskOptions options);

    /// <summary>The end of a task's run in one member: its state, and its result or error.</summary>
    internal readonly record struct LocalOutcome(TaskState State, string? ResultJson, Exception? Error);
}

/// <summary>The typed half of <see cref="ClusterHandler"/>.</summary>
internal sealed class ClusterHandler<THandler, TInput, TResult>(string name, JsonTypeInfo<TInput> input, JsonTypeInfo<TResult> result)
    : ClusterHandler(name, typeof(THandler))
    where THandler : class, ITaskHandler<TInput, TResult>
{
    internal JsonTypeInfo<TInput> Input { get; } = input;

    internal JsonTypeInfo<TResult> Result { get; } = result;

    internal static ClusterHandler<THandler, TInput, TResult> Create(string? name, JsonTypeInfo<TInput>? input, JsonTypeInfo<TResult>? result)
    {
        var contracts = HandlerCatalog.Contracts<THandler, TInput, TResult>(name, input, result);
        return new(contracts.Name, contracts.Input, contracts.Result);
    }

    internal override async Task<LocalOutcome> RunAsync(TaskDispatcher local, string inputJson, TaskOptions options)
    {
        TaskHandle<TResult> handle;
        try
        {
            var value = JsonSerializer.Deserialize(inputJson, Input)!;
            handle = await local.SubmitAsync<THandler, TInput, TResult>(value, options).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException)
        {
            return new(TaskState.Failed, null, new InvalidOperationException($"The input of handler '{Name}' no longer reads as {typeof(TInput).Name}: {exception.Message}", exception));
        }

        try
        {
            var value = await handle.AsValueTask().ConfigureAwait(false);
            return new(TaskState.Completed, JsonSerializer.Serialize(value, Result), null);
        }
        catch (Exception exception)
        {
            return new(handle.State == TaskState.Cancelled ? TaskState.Cancelled : TaskState.Failed, null, exception);
        }
    }
}
