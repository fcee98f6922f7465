namespace TaskDispatch;

/// <summary>Options of a <see cref="SqliteTaskStore"/>.</summary>
public sealed class SqliteTaskStoreOptions
{
    /// <summary>Gets or sets how hard each commit is made durable.</summary>
    /// <value>The default value is <see cref="SqliteSynchronous.Full"/>: acknowledged tasks survive a power loss.</value>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Full;

    /// <summary>Gets or sets the most writes (submissions, attempt starts, ends, checkpoints) that one commit takes:
    /// concurrent writers share a commit up to this many.</summary>
    /// <value>The default value is 1,000. Must be at least 1.</value>
    public int MaxBatchSize { get; set; } = 1_000;

    /// <summary>Gets or sets how long an operation waits for a lock on the database file before it fails.</summary>
    /// <value>The default value is 5 seconds. Must be positive.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the most ended tasks the file keeps; older ones are compacted away even within the
    /// dispatcher's <see cref="TaskDispatcherOptions.OutcomeRetention"/>.</summary>
    /// <value>The default value is 1,000,000. Must be at least 0.</value>
    public int MaxEndedTasks { get; set; } = 1_000_000;

    /// <summary>Gets or sets how often ended tasks past retention are compacted away.</summary>
    /// <value>The default value is one minute. Must be positive.</value>
    public TimeSpan CompactionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets the clock that retention is measured by.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Caps the file at this many pages (SQLite's <c>max_page_count</c>), so that tests can fill it.</summary>
    internal long? MaxPageCount { get; set; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Synchronous))
        {
            throw new ArgumentOutOfRangeException(nameof(Synchronous), Synchronous, $"{nameof(Synchronous)} must be Full or Normal, was {Synchronous}.");
        }

        if (MaxBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, $"{nameof(MaxBatchSize)} must be at least 1, was {MaxBatchSize}.");
        }

        if (BusyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, $"{nameof(BusyTimeout)} must be positive, was {BusyTimeout}.");
        }

        if (MaxEndedTasks < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEndedTasks), MaxEndedTasks, $"{nameof(MaxEndedTasks)} must not be negative, was {MaxEndedTasks}.");
        }

        if (CompactionInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CompactionInterval), CompactionInterval, $"{nameof(CompactionInterval)} must be positive, was {CompactionInterval}.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }
}
