using TaskDispatch;

namespace WorkerService;

/// <summary>A job: make a thumbnail of one image. Its handler is found from the request alone.</summary>
public sealed record Thumbnail(int ImageId) : ITaskRequest<string>;
