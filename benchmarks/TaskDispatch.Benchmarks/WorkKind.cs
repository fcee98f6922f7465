namespace TaskDispatch.Benchmarks;

/// <summary>The work each benchmarked task does.</summary>
public enum WorkKind
{
    /// <summary>Returns at once: measures dispatch overhead alone.</summary>
    NoOp,

    /// <summary>Yields once to the thread pool, as work with real I/O would.</summary>
    Yield,

    /// <summary>Spins for one microsecond: a little real CPU work per task.</summary>
    OneMicrosecond,
}
