using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>Runs a task submitted as an <see cref="ITaskRequest{TResult}"/>: resolves, in the attempt's scope, the
/// <see cref="ITaskHandler{TInput, TResult}"/> registered for the request's own type, and calls it. The handler type is
/// found once per request type.</summary>
internal sealed class RequestHandler<TResult> : ITaskHandler<ITaskRequest<TResult>, TResult>
{
    private static readonly ConcurrentDictionary<Type, Route> s_routes = new();

    public ValueTask<TResult> HandleAsync(ITaskRequest<TResult> input, TaskContext context)
    {
        var route = RouteOf(input.GetType());
        var handler = context.Services!.GetService(route.HandlerService)
            ?? throw new InvalidOperationException(MissingHandler(route.HandlerService));
        return route.Invoke(handler, input, context);
    }

    /// <summary>The service a request type is handled by: <c>ITaskHandler&lt;TRequest, TResult&gt;</c>.</summary>
    internal static Type HandlerServiceOf(Type requestType) => RouteOf(requestType).HandlerService;

    internal static string MissingHandler(Type handlerService) =>
        $"No {Describe(handlerService)} is registered in the dispatcher's services; register its handler with services.AddTaskHandler<THandler>().";

    private static string Describe(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>"
        : type.Name;

    private static Route RouteOf(Type requestType) => s_routes.GetOrAdd(requestType, static type =>
    {
        var service = typeof(ITaskHandler<,>).MakeGenericType(type, typeof(TResult));
        var invoke = typeof(RequestHandler<TResult>).GetMethod(nameof(InvokeTyped), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type)
            .CreateDelegate<Func<object, ITaskRequest<TResult>, TaskContext, ValueTask<TResult>>>();
        return new Route(service, invoke);
    });

    private static ValueTask<TResult> InvokeTyped<TRequest>(object handler, ITaskRequest<TResult> request, TaskContext context)
        where TRequest : ITaskRequest<TResult> =>
        ((ITaskHandler<TRequest, TResult>)handler).HandleAsync((TRequest)request, context);

    private sealed record Route(Type HandlerService, Func<object, ITaskRequest<TResult>, TaskContext, ValueTask<TResult>> Invoke);
}
