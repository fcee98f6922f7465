using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>Shorter ways to submit: without options, and handler tasks by their input alone.</summary>
public static class TaskDispatcherExtensions
{
    /// <summary>Submits <paramref name="work"/> with default options if there is room now, without waiting.</summary>
    /// <param name="dispatcher">The dispatcher.</param>
    /// <param name="work">The work.</param>
    /// <param name="handle">The task's handle when it was accepted.</param>
    /// <returns>Whether it was accepted; <see langword="false"/> when <see cref="TaskDispatcherOptions.MaxPendingTasks"/> is reached.</returns>
    public static bool TrySubmit(this ITaskDispatcher dispatcher, Func<TaskContext, ValueTask> work, [NotNullWhen(true)] out TaskHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        return dispatcher.TrySubmit(work, null, out handle);
    }

    /// <summary>Submits <paramref name="work"/> with default options if there is room now, without waiting.</summary>
    /// <typeparam name="TResult">The work's result.</typeparam>
    /// <param name="dispatcher">The dispatcher.</param>
    /// <param name="work">The work.</param>
    /// <param name="handle">The task's handle when it was accepted.</param>
    /// <returns>Whether it was accepted; <see langword="false"/> when <see cref="TaskDispatcherOptions.MaxPendingTasks"/> is reached.</returns>
    public static bool TrySubmit<TResult>(this ITaskDispatcher dispatcher, Func<TaskContext, ValueTask<TResult>> work, [NotNullWhen(true)] out TaskHandle<TResult>? handle)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        return dispatcher.TrySubmit(work, null, out handle);
    }

    /// <summary>Submits a handler task by its input alone: the <see cref="ITaskHandler{TInput, TResult}"/> registered for
    /// the request's type (<see cref="TaskDispatchServiceCollectionExtensions.AddTaskHandler{THandler}"/>) runs it, in
    /// a scope of its own, and the result type comes from the request: <c>await dispatcher.SubmitAsync(new Square(12))</c>.</summary>
    /// <typeparam name="TResult">The result, inferred from the request.</typeparam>
    /// <param name="dispatcher">The dispatcher; built with services (<c>AddTaskDispatch</c>).</param>
    /// <param name="request">The input.</param>
    /// <param name="options">The task's options.</param>
    /// <param name="cancellationToken">Cancels waiting for room; not the task.</param>
    /// <returns>The task's handle.</returns>
    /// <exception cref="InvalidOperationException">No handler is registered for the request's type, or the dispatcher has
    /// no services.</exception>
    public static ValueTask<TaskHandle<TResult>> SubmitAsync<TResult>(this ITaskDispatcher dispatcher, ITaskRequest<TResult> request, TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(request);
        var routes = (dispatcher as TaskDispatcher)?.Services?.GetService<RequestRoutes>()
            ?? throw new InvalidOperationException(RequestRoutes.MissingHandler(request.GetType(), typeof(TResult)));
        return routes.SubmitAsync(dispatcher, request, options, cancellationToken);
    }
}
