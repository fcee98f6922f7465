using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The hosting package's log events: 7xx.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 700, EventName = nameof(DispatcherHosted), Level = LogLevel.Debug,
        Message = "Dispatcher {DispatcherName} started with the host; it stops when the host stops.")]
    internal static partial void DispatcherHosted(ILogger logger, string dispatcherName);
}
