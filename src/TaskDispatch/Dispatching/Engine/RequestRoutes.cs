using System.Collections.Concurrent;
using System.Reflection;

namespace TaskDispatch;

/// <summary>Which handler runs each request type, as <see cref="Microsoft.Extensions.DependencyInjection.TaskDispatchServiceCollectionExtensions.AddTaskHandler{THandler}"/>
/// registered them, and the typed submission of each: a request then travels the same path as a handler task submitted
/// with its types spelled out (its handler's binding when stored, its own type as its kind).</summary>
internal sealed class RequestRoutes
{
    private static readonly ConcurrentDictionary<(Type Handler, Type Request), Delegate> s_submits = new();

    private readonly Dictionary<Type, Type> _handlerByRequest = [];

    /// <summary>Registers <paramref name="handlerType"/> for every request type among its handled inputs.</summary>
    internal void Add(Type handlerType, IEnumerable<Type> contracts)
    {
        foreach (var contract in contracts)
        {
            var input = contract.GetGenericArguments()[0];
            if (IsRequest(input))
            {
                _handlerByRequest[input] = handlerType;
            }
        }
    }

    /// <summary>Gets whether a handler's input type is a request (<see cref="ITaskRequest{TResult}"/>); asked at
    /// registration and once per input type (<see cref="HandlerWork.RequestType"/>).</summary>
    internal static bool IsRequest(Type inputType) =>
        inputType.GetInterfaces().Any(static contract => contract.IsGenericType && contract.GetGenericTypeDefinition() == typeof(ITaskRequest<>));

    /// <summary>Submits <paramref name="request"/> as a task of the handler registered for its type.</summary>
    /// <exception cref="InvalidOperationException">No handler is registered for the request's type.</exception>
    internal ValueTask<TaskHandle<TResult>> SubmitAsync<TResult>(ITaskDispatcher dispatcher, ITaskRequest<TResult> request, TaskOptions? options, CancellationToken cancellationToken)
    {
        var requestType = request.GetType();
        if (!_handlerByRequest.TryGetValue(requestType, out var handlerType))
        {
            throw new InvalidOperationException(MissingHandler(requestType, typeof(TResult)));
        }

        var submit = (Func<ITaskDispatcher, ITaskRequest<TResult>, TaskOptions?, CancellationToken, ValueTask<TaskHandle<TResult>>>)s_submits.GetOrAdd(
            (handlerType, requestType),
            static key => typeof(RequestRoutes).GetMethod(nameof(SubmitTyped), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(key.Handler, key.Request, typeof(TResult))
                .CreateDelegate<Func<ITaskDispatcher, ITaskRequest<TResult>, TaskOptions?, CancellationToken, ValueTask<TaskHandle<TResult>>>>());
        return submit(dispatcher, request, options, cancellationToken);
    }

    internal static string MissingHandler(Type requestType, Type resultType) =>
        $"No ITaskHandler<{requestType.Name}, {resultType.Name}> is registered in the dispatcher's services; register its handler with services.AddTaskHandler<THandler>().";

    private static ValueTask<TaskHandle<TResult>> SubmitTyped<THandler, TRequest, TResult>(ITaskDispatcher dispatcher, ITaskRequest<TResult> request, TaskOptions? options, CancellationToken cancellationToken)
        where THandler : class, ITaskHandler<TRequest, TResult>
        where TRequest : ITaskRequest<TResult> =>
        dispatcher.SubmitAsync<THandler, TRequest, TResult>((TRequest)request, options, cancellationToken);
}
