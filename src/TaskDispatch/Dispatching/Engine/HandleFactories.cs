using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>How each kind of submission becomes a handle: a delegate without or with a result, or a handler resolved
/// from the attempt's services. Static lambdas with the work as state keep submission free of closures.</summary>
internal static class HandleFactories
{
    internal static class Action
    {
        internal static readonly TaskIntake.HandleFactory<TaskHandle> Create = static (dispatcher, id, options, sequence, now, work) =>
            new ActionTaskHandle(dispatcher, id, options, sequence, now, static (context, state) => ((Func<TaskContext, ValueTask>)state!)(context), work);
    }

    internal static class Function<TResult>
    {
        internal static readonly TaskIntake.HandleFactory<TaskHandle<TResult>> Create = static (dispatcher, id, options, sequence, now, work) =>
            new TaskHandle<TResult>(dispatcher, id, options, sequence, now, static (context, state) => ((Func<TaskContext, ValueTask<TResult>>)state!)(context), work, requiresScope: false);
    }

    internal static class Handler<THandler, TInput, TResult>
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        internal static readonly TaskIntake.HandleFactory<TaskHandle<TResult>> Create = static (dispatcher, id, options, sequence, now, work) =>
            new TaskHandle<TResult>(dispatcher, id, options, sequence, now, RunHandlerAsync, work, requiresScope: true);

        /// <summary>Creates the handle of a handler task; for durable replays.</summary>
        internal static TaskHandle<TResult> CreateHandle(TaskDispatcher dispatcher, string id, TaskOptions options, long sequence, DateTimeOffset submittedAt, HandlerInput<TInput> input) =>
            new(dispatcher, id, options, sequence, submittedAt, RunHandlerAsync, input, requiresScope: true);

        private static async ValueTask<TResult> RunHandlerAsync(TaskContext context, object? state)
        {
            var services = context.Services!;
            var registered = services.GetService<THandler>();
            var handler = registered ?? ActivatorUtilities.CreateInstance<THandler>(services);
            try
            {
                return await handler.HandleAsync(((HandlerInput<TInput>)state!).Value, context).ConfigureAwait(false);
            }
            finally
            {
                // A handler we constructed is ours to dispose; a registered one belongs to its scope.
                if (registered is null)
                {
                    if (handler is IAsyncDisposable asyncDisposable)
                    {
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    }
                    else if (handler is IDisposable disposable)
                    {
                        disposable.Dispose();
                    }
                }
            }
        }
    }
}
