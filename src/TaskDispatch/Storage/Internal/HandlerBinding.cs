using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TaskDispatch;

/// <summary>How a durable dispatcher stores and rebuilds the tasks of one handler type: under which name, how its input
/// and result go to and from JSON, and how a handle is made from a stored input.</summary>
internal abstract class HandlerBinding(string name, Type handlerType)
{
    /// <summary>Gets the name stored with each task, by which a restarted process finds the handler again.</summary>
    internal string Name { get; } = name;

    internal Type HandlerType { get; } = handlerType;

    /// <summary>Serializes a submitted input; throws at the submitter's call site when it cannot be.</summary>
    internal abstract string SerializeInput(HandlerWork work);

    /// <summary>Makes the handle of a stored task, deserializing its input.</summary>
    internal abstract TaskHandle CreateHandle(TaskDispatcher dispatcher, StoredTask stored, TaskOptions options);

    /// <summary>Serializes a completed task's result.</summary>
    internal abstract string? SerializeResult(TaskHandle task);

    /// <summary>Gives a handle made from a stored, completed task the stored result.</summary>
    internal abstract void RestoreResult(TaskHandle task, string? resultJson);
}

/// <summary>The binding of <typeparamref name="THandler"/>.</summary>
internal sealed class HandlerBinding<THandler, TInput, TResult>(string name, JsonTypeInfo<TInput> input, JsonTypeInfo<TResult> result)
    : HandlerBinding(name, typeof(THandler))
    where THandler : class, ITaskHandler<TInput, TResult>
{
    internal override string SerializeInput(HandlerWork work) => JsonSerializer.Serialize(((HandlerInput<TInput>)work).Value, input);

    internal override TaskHandle CreateHandle(TaskDispatcher dispatcher, StoredTask stored, TaskOptions options)
    {
        var value = JsonSerializer.Deserialize(stored.Input, input)!;
        var work = new HandlerInput<TInput>(value, typeof(THandler)) { Binding = this, InputJson = stored.Input };
        return HandleFactories.Handler<THandler, TInput, TResult>.CreateHandle(dispatcher, stored.Id, options, stored.SequenceNumber, stored.SubmittedAt, work);
    }

    internal override string? SerializeResult(TaskHandle task) =>
        task is TaskHandle<TResult> typed && typed.State == TaskState.Completed ? JsonSerializer.Serialize(typed.ResultOrDefault!, result) : null;

    internal override void RestoreResult(TaskHandle task, string? resultJson)
    {
        if (resultJson is not null && task is TaskHandle<TResult> typed)
        {
            typed.RestoreResult(JsonSerializer.Deserialize(resultJson, result)!);
        }
    }
}
