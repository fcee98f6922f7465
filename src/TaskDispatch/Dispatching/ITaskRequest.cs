namespace TaskDispatch;

/// <summary>A task input that names its result type, so that a handler task is submitted with the input alone:
/// <c>await dispatcher.SubmitAsync(new ResizeImage(path))</c> runs the <see cref="ITaskHandler{TInput, TResult}"/>
/// registered for <c>ResizeImage</c> (<c>services.AddTaskHandler&lt;ResizeImageHandler&gt;()</c>) and its handle
/// carries <typeparamref name="TResult"/>, with no type arguments written.</summary>
/// <typeparam name="TResult">What the request's handler returns.</typeparam>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1040:Avoid empty interfaces", Justification = "A marker that carries the result type for inference; nothing else is asked of a request.")]
public interface ITaskRequest<TResult>
{
}
