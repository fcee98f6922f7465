using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>
/// The job the cluster benchmarks run unless the command line chooses one: one launch, the warm-up operations the class
/// asks for (one by default) and <see cref="IterationCount"/> measured operations, each invoked once
/// (<see cref="RunStrategy.Monitoring"/>). An
/// operation here runs thousands of jobs through PostgreSQL and takes seconds, so BenchmarkDotNet's default
/// (Throughput: a pilot stage, 6+ warm-ups and 15+ iterations) would take many minutes, and in process would exceed
/// the in-process toolchain's timeout.
/// </summary>
/// <remarks>
/// Unlike <c>[SimpleJob(RunStrategy.Monitoring, ...)]</c>, which BenchmarkDotNet runs <em>in addition to</em> any job
/// given on the command line (so CI's <c>--job Dry --inProcess</c> would also run the full job, out of process), this
/// steps aside when the command line picks a job or sets one of the characteristics it sets (<c>--job</c>,
/// <c>--iterationCount</c>, <c>--strategy</c>, ...). Otherwise it is applied, as a mutator, to the command line's job,
/// so <c>--inProcess</c> alone runs this job in process, and no arguments runs it out of process.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Assembly)]
public sealed class ClusterJobAttribute : Attribute, IConfigSource
{
    /// <summary>Measured operations per benchmark.</summary>
    public const int IterationCount = 5;

    // BenchmarkDotNet's options that choose a job or set the characteristics this job sets.
    private static readonly string[] s_jobOptions =
    [
        "-j", "--job", "--strategy", "--launchCount", "--warmupCount", "--minWarmupCount", "--maxWarmupCount",
        "--iterationCount", "--minIterationCount", "--maxIterationCount", "--iterationTime", "--invocationCount",
        "--unrollFactor", "--runOncePerIteration",
    ];

    /// <summary>Applies the job with one warm-up operation.</summary>
    public ClusterJobAttribute()
        : this(warmupCount: 1)
    {
    }

    /// <summary>Applies the job with <paramref name="warmupCount"/> warm-up operations. A class whose operation runs tens of
    /// thousands of tasks through this process's code asks for more: the JIT recompiles that code in tiers during the
    /// first few operations, which ran up to 1.7x slower than the later ones (20,000-task drains of 790-930 ms, then
    /// 655-734 ms; with tiered compilation off, none slower).</summary>
    public ClusterJobAttribute(int warmupCount)
    {
        var config = ManualConfig.CreateEmpty();
        if (!CommandLineChoosesJob(Environment.GetCommandLineArgs()))
        {
            config.AddJob(Job.Default
                .WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1)
                .WithWarmupCount(warmupCount)
                .WithIterationCount(IterationCount)
                .AsMutator());
        }

        Config = config;
    }

    public IConfig Config { get; }

    private static bool CommandLineChoosesJob(string[] args) =>
        args.Any(static arg => s_jobOptions.Any(option =>
            arg.Equals(option, StringComparison.OrdinalIgnoreCase)
            || arg.StartsWith(option + "=", StringComparison.OrdinalIgnoreCase)));
}
