namespace TaskDispatch.Benchmarks.External;

/// <summary>
/// The job Hangfire runs. Hangfire stores a job as a method name and serialized arguments and invokes it on its own
/// workers, so a static method with no arguments is the cheapest job it can run, and the countdown it signals has to
/// be reachable statically. Hangfire invokes only public methods.
/// </summary>
public static class HangfireSignalJob
{
    private static CompletionCountdown? s_countdown;

    /// <summary>The countdown <see cref="Signal"/> counts down; set by the benchmark's setup, cleared by its cleanup.</summary>
    internal static CompletionCountdown? Countdown
    {
        get => Volatile.Read(ref s_countdown);
        set => Volatile.Write(ref s_countdown, value);
    }

    /// <summary>Counts this job as run.</summary>
    public static void Signal() =>
        (Countdown ?? throw new InvalidOperationException("A Hangfire job ran outside the benchmark's setup and cleanup.")).Signal();
}
