using Hangfire;
using Hangfire.Common;
using Hangfire.InMemory;

namespace TaskDispatch.Benchmarks.External;

/// <summary>Hangfire with in-memory storage, set up for the lowest latency, for the comparison benchmarks.</summary>
internal sealed class HangfireHost : IDisposable
{
    private readonly InMemoryStorage _storage;
    private readonly BackgroundJobServer _server;

    internal HangfireHost(string serverName, int workers)
    {
        // The storage is handed to the server and the client directly instead of through
        // GlobalConfiguration.UseInMemoryStorage, which would set the process-wide JobStorage.Current for every
        // benchmark class that runs after this one. Hangfire.InMemory fetches from its queues by blocking on a signal,
        // so it has no polling interval to lower.
        _storage = new InMemoryStorage(new InMemoryStorageOptions
        {
            // Succeeded jobs are kept 3 hours by default: every iteration's jobs would pile up in the store and each
            // operation would run against a larger one. Expired after a second (the store evicts every 5 s), they keep
            // it at a steady size. This caps only the expiry of finished jobs, never of jobs still waiting to run.
            MaxExpirationTime = TimeSpan.FromSeconds(1),
        });

        // No job filters. Hangfire's defaults (GlobalJobFilters: culture capture, automatic retry, statistics history,
        // continuations) each read or write the storage for every job, and none of them serves a no-op job that never
        // fails and has no continuation: with them an operation of 10,000 jobs measured about 250 ms and 257 MB
        // instead of about 140 ms and 76 MB. The empty collection is handed to this client and server only;
        // GlobalJobFilters, which every other Hangfire user in the process would see, is left as it is.
        var noFilters = new JobFilterCollection();
        _server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                ServerName = serverName,
                WorkerCount = workers,

                // Only the workers and the two required watchdogs: no delayed or recurring job schedulers polling the
                // storage on the same cores. Enqueued jobs never go through those schedulers, so their
                // SchedulePollingInterval has no bearing on latency here.
                IsLightweightServer = true,
                FilterProvider = noFilters,
            },
            _storage);
        Client = new BackgroundJobClient(_storage, noFilters);
    }

    /// <summary>Gets the client that enqueues jobs.</summary>
    internal BackgroundJobClient Client { get; }

    public void Dispose()
    {
        // The server first: its workers use the storage until they stop.
        _server.Dispose();
        _storage.Dispose();
    }
}
