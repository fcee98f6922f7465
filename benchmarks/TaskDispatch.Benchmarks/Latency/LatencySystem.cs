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
}
