namespace TaskDispatch.Benchmarks;

/// <summary>
/// The job Hangfire and Quartz run in <see cref="LatencyBenchmark"/>. Both build their jobs themselves (Hangfire from
/// a stored method name and arguments, Quartz as a new instance per firing), so the benchmark whose arrays a job
/// records into has to be reachable statically. Hangfire invokes only public methods of public types.
/// </summary>
public static class LatencyJobs
{
    private static LatencyBenchmark? s_current;

    /// <summary>The benchmark <see cref="Run"/> records into; set by its setup, cleared by its cleanup.</summary>
    internal static LatencyBenchmark? Current
    {
        get => Volatile.Read(ref s_current);
        set => Volatile.Write(ref s_current, value);
    }

    /// <summary>The job body: records that task <paramref name="index"/> started, then that it is done.</summary>
    public static void Run(int index) =>
        (Current ?? throw new InvalidOperationException("A latency job ran outside the benchmark's setup and cleanup.")).RunJob(index);
}
