using Quartz;

namespace TaskDispatch.Benchmarks.External;

/// <summary>A standalone Quartz scheduler with the in-memory store, set up for the lowest latency, for the comparison benchmarks.</summary>
internal sealed class QuartzHost : IAsyncDisposable
{
    private readonly StandaloneSchedulerFactory _factory;

    private QuartzHost(StandaloneSchedulerFactory factory, IScheduler scheduler)
    {
        _factory = factory;
        Scheduler = scheduler;
    }

    /// <summary>Gets the running scheduler.</summary>
    internal IScheduler Scheduler { get; }

    /// <summary>Creates and starts a scheduler named <paramref name="name"/> with <paramref name="threads"/> threads.</summary>
    internal static async Task<QuartzHost> StartAsync(string name, int threads)
    {
        // The standalone builder keeps the scheduler in a container of its own, so nothing is left in a process-wide
        // scheduler repository for later benchmark classes.
        var factory = QuartzSchedulerBuilder.Create(quartz => quartz
                .ConfigureScheduler(scheduler =>
                {
                    scheduler.InstanceName = name;

                    // The minimum Quartz accepts. Scheduling a job wakes the scheduler thread at once anyway; this only
                    // bounds how long an idle scheduler sleeps before it looks at the store again.
                    scheduler.IdleWaitTime = TimeSpan.FromSeconds(1);

                    // One trigger per acquisition round (quartz.scheduler.batchTriggerAcquisitionMaxCount), which is what
                    // the in-memory store picks by itself, stated so nobody "tunes" it: acquiring as many as there are
                    // threads (2) measured 3-7 % slower on a burst of one-off triggers, as Quartz's own docs report.
                    scheduler.MaxBatchSize = 1;
                })
                .UseDefaultThreadPool(threads)
                .UseInMemoryStore(_ => { }))
            .Build();
        var scheduler = await factory.GetScheduler().ConfigureAwait(false);
        await scheduler.Start().ConfigureAwait(false);
        return new QuartzHost(factory, scheduler);
    }

    public async ValueTask DisposeAsync()
    {
        await Scheduler.Shutdown(waitForJobsToComplete: true).ConfigureAwait(false);
        await _factory.DisposeAsync().ConfigureAwait(false);
    }
}
