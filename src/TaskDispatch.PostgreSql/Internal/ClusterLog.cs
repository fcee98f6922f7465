using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The cluster member's log events (ids 3000-3099).</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Cluster '{Cluster}': member {Member} joined with node(s) {Nodes}")]
    internal static partial void Joined(ILogger logger, string cluster, string member, string nodes);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Cluster '{Cluster}': node(s) {Nodes} of member {Member} had been declared dead (paused or cut off past the lease); rejoined")]
    internal static partial void Rejoined(ILogger logger, string cluster, string member, string nodes);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Cluster '{Cluster}': lost the lease on {Count} task(s) (this member was too late to renew); their attempts here are cancelled and their results will be refused")]
    internal static partial void LeasesLost(ILogger logger, string cluster, int count);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Cluster '{Cluster}': {Count} late write(s) refused: the tasks had moved to other nodes")]
    internal static partial void WritesRefused(ILogger logger, string cluster, int count);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Cluster '{Cluster}': node(s) {Nodes} declared dead; {Count} task(s) taken back and placed again")]
    internal static partial void Recovered(ILogger logger, string cluster, string nodes, int count);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Cluster '{Cluster}': task {TaskId} was dead-lettered after {Deliveries} deliveries (its node died in each)")]
    internal static partial void DeadLettered(ILogger logger, string cluster, string taskId, int deliveries);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Cluster '{Cluster}': {Loop} failed; retrying")]
    internal static partial void LoopFailed(ILogger logger, string cluster, string loop, Exception exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Cluster '{Cluster}': member {Member} left; {Released} leased task(s) handed back")]
    internal static partial void Left(ILogger logger, string cluster, string member, int released);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Cluster '{Cluster}': a lease for node {Node} failed after it committed; its {Released} task(s) handed back")]
    internal static partial void LeasesInDoubtReleased(ILogger logger, string cluster, string node, int released);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "Cluster '{Cluster}': the end of task {TaskId} cannot be written ({State}); given up: its lease runs out and the task runs again")]
    internal static partial void EndGivenUp(ILogger logger, string cluster, string taskId, TaskState state, Exception exception);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug, Message = "Cluster '{Cluster}': pruned {Tasks} ended task(s) and {Records} fault record(s) older than {Retention}")]
    internal static partial void Pruned(ILogger logger, string cluster, long tasks, int records, TimeSpan retention);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Cluster '{Cluster}': member {Member} had not left 5 s after the host's shutdown token fired (the tasks still running were handed back); it goes on leaving while the container is disposed")]
    internal static partial void StopCutByHost(ILogger logger, string cluster, string member);
}
