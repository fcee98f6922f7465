namespace TaskDispatch;

/// <summary>A task handler resolved from dependency injection, in a fresh scope for every attempt.</summary>
/// <typeparam name="TInput">The input the submitter passes.</typeparam>
/// <typeparam name="TResult">The result the task produces.</typeparam>
public interface ITaskHandler<in TInput, TResult>
{
    /// <summary>Runs one attempt of the task.</summary>
    /// <param name="input">The input given at submission.</param>
    /// <param name="context">The attempt's context: cancellation, progress, attempt number and node.</param>
    /// <returns>The task's result.</returns>
    ValueTask<TResult> HandleAsync(TInput input, TaskContext context);
}
