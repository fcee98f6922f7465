using Microsoft.Extensions.Logging;
using TaskDispatch;

namespace WorkerService;

/// <summary>Makes a thumbnail (simulated: a few steps of work); every fifth image fails on its first attempt, and the
/// recovery policy from appsettings.json retries it. Its log lines carry the task's id and attempt as a scope.</summary>
public sealed partial class ThumbnailHandler(ILogger<ThumbnailHandler> logger) : ITaskHandler<Thumbnail, string>
{
    public async ValueTask<string> HandleAsync(Thumbnail input, TaskContext context)
    {
        Resizing(logger, input.ImageId);
        for (var step = 1; step <= 3; step++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(15), context.TimeProvider, context.CancellationToken);
            context.ReportProgress(step / 3.0);
        }

        if (input.ImageId % 5 == 0 && context.Attempt == 1)
        {
            throw new IOException($"image {input.ImageId} was locked by another process");
        }

        return $"thumbs/{input.ImageId}.png";
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Resizing image {ImageId}")]
    private static partial void Resizing(ILogger logger, int imageId);
}
