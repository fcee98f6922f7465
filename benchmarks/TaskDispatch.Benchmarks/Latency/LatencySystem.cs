namespace TaskDispatch.Benchmarks;

/// <summary>The systems the open-loop latency benchmark drives.</summary>
public enum LatencySystem
{
    /// <summary>A bare <see cref="System.Threading.Channels.Channel{T}"/> with two consumer loops; done = the work returned.</summary>
    BareChannel,

    /// <summary>The hand-rolled channel loop with a <see cref="TaskCompletionSource{TResult}"/> per item.</summary>
    HandRolledChannel,

    /// <summary>A Dataflow <c>ActionBlock</c> (parallelism 2) with a completion per item.</summary>
    Dataflow,

    /// <summary>TaskDispatch, FCFS + round-robin over two one-slot nodes.</summary>
    TaskDispatch,

    /// <summary>
    /// Hangfire with Hangfire.InMemory storage, a lightweight server with two workers and no job filters, as in
    /// <see cref="External.ExternalLibrariesBenchmark"/>. Hangfire has no per-job completion a submitter awaits, so
    /// done = the job body returned, as for <see cref="BareChannel"/>.
    /// </summary>
    Hangfire,

    /// <summary>
    /// Quartz.NET, a standalone scheduler with the in-memory store (RAMJobStore), two threads and one <c>StartNow</c>
    /// trigger per task, as in <see cref="External.ExternalLibrariesBenchmark"/>. Done = the job body returned, as for
    /// <see cref="BareChannel"/>: nothing a submitter awaits completes per job.
    /// </summary>
    Quartz,

    /// <summary>
    /// Coravel's queue, drained by a background loop of the benchmark's own that calls <c>ConsumeQueueAsync</c> with a
    /// 1 ms pause between drains (Coravel's hosted consumer ticks once a second at best). Done = the job body returned,
    /// as for <see cref="BareChannel"/>.
    /// </summary>
    Coravel,
}
