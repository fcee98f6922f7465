using System.Diagnostics;

namespace TaskDispatch.Benchmarks;

/// <summary>The work every system in a comparison runs per item, by <see cref="WorkKind"/>.</summary>
internal static class Work
{
    private static readonly long s_ticksPerMicrosecond = Math.Max(1, Stopwatch.Frequency / 1_000_000);

    /// <summary>Gets the work as a plain delegate, for the baselines.</summary>
    internal static Func<ValueTask<int>> Plain(WorkKind kind) => kind switch
    {
        WorkKind.NoOp => static () => ValueTask.FromResult(1),
        WorkKind.OneMicrosecond => static () => ValueTask.FromResult(SpinOneMicrosecond()),
        _ => static () => YieldOnceAsync(),
    };

    /// <summary>Gets the work as a TaskDispatch task.</summary>
    internal static Func<TaskContext, ValueTask<int>> ForDispatcher(WorkKind kind) => kind switch
    {
        WorkKind.NoOp => static _ => ValueTask.FromResult(1),
        WorkKind.OneMicrosecond => static _ => ValueTask.FromResult(SpinOneMicrosecond()),
        _ => static _ => YieldOnceAsync(),
    };

    /// <summary>Busy-waits one microsecond, as a short computation would.</summary>
    internal static int SpinOneMicrosecond()
    {
        var end = Stopwatch.GetTimestamp() + s_ticksPerMicrosecond;
        while (Stopwatch.GetTimestamp() < end)
        {
        }

        return 1;
    }

    private static async ValueTask<int> YieldOnceAsync()
    {
        await Task.Yield();
        return 1;
    }
}
