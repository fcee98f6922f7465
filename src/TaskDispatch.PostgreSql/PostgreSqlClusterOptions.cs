using System.Text.RegularExpressions;

namespace TaskDispatch;

/// <summary>Settings of a cluster member on PostgreSQL: how long a lease lasts and how often it is renewed, how many
/// tasks a node leases at once, and how often a task may be interrupted before it is dead-lettered.</summary>
public sealed partial class PostgreSqlClusterOptions
{
    /// <summary>Gets or sets the schema that holds the cluster's tables; created and migrated on first use.</summary>
    /// <value>The default value is <c>taskdispatch</c>. Lower-case letters, digits and underscores, starting with a letter
    /// or an underscore; at most 40 characters.</value>
    public string Schema { get; set; } = "taskdispatch";

    /// <summary>Gets or sets how long a node holds a task it leased without renewing the lease. A node that stops renewing
    /// (dead, paused or cut off) loses its tasks to the others once this runs out.</summary>
    /// <value>The default value is 10 seconds. At least 500 milliseconds.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how often a member renews its leases and its nodes' heartbeat, refreshes its view of the
    /// cluster, and looks for dead members' tasks.</summary>
    /// <value>The default value is <see langword="null"/>: a third of <see cref="LeaseDuration"/>. Must be shorter
    /// than half of <see cref="LeaseDuration"/>, so that one late renewal does not lose a lease.</value>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>Gets or sets the most tasks one node leases in one statement.</summary>
    /// <value>The default value is 256.</value>
    public int LeaseBatchSize { get; set; } = 256;

    /// <summary>Gets or sets how many tasks a node holds beyond its slots, leased and waiting in its process for a slot,
    /// so that a slot that frees never waits for a round trip to the server.</summary>
    /// <value>The default value is <see langword="null"/>: as many as the node has slots. 0 leases only for free slots.</value>
    public int? Prefetch { get; set; }

    /// <summary>Gets or sets how many times a task may be leased in all: a task whose node died this many times while
    /// running it (a poison task) is dead-lettered instead of being leased again.</summary>
    /// <value>The default value is 5.</value>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Gets or sets how often an idle member looks at the table even without a notification, in case one was
    /// lost with a dropped connection. Wake-ups come from LISTEN/NOTIFY; this is only the safety net.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan IdleSweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets how often a node's lease starts from the head of its queue even though no notification said
    /// that a task landed before the position its previous full batch ended at. Leases start at that position, skipping
    /// the rows earlier leases deleted, which the queue's index lists until they are cleaned up and which a lease from the
    /// head would walk again and again under a backlog. A submission's notification names where its tasks start, so a
    /// higher-priority task is seen by the next lease; this interval bounds the wait of the tasks no notification
    /// announces before the position: a delayed task whose time came, a task whose notification a dropped connection
    /// lost.</summary>
    /// <value>The default value is 1 second. <see cref="TimeSpan.Zero"/> starts every lease from the head: the policy's
    /// order exactly, at more cost per lease under a backlog. Must not be negative.</value>
    public TimeSpan QueueRescanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most rows one submission, acknowledgement or renewal statement writes. A member also
    /// stops leasing while twice this many ends of its tasks wait to be written.</summary>
    /// <value>The default value is 1,000.</value>
    public int WriteBatchSize { get; set; } = 1_000;

    /// <summary>Gets or sets how long, when the member stops, the tasks running on its nodes may take to finish; what they
    /// do not finish in time is handed back to the cluster (another node runs it), not cancelled. The member's last
    /// writes (the ends of what finished) may take as long again; then it hands back what it leased and did not start,
    /// and leaves. <see cref="TaskCluster.StopAsync"/> without a timeout uses it, and so do <see cref="TaskCluster.DisposeAsync"/>
    /// and the member the generic host stops (<c>AddTaskCluster</c>), where the host's shutdown token, when it fires
    /// first, hands running tasks back at once and leaves the last writes a second at most.</summary>
    /// <value>The default value is 10 seconds: twice that, and the leaving, fit the generic host's default shutdown
    /// timeout of 30 seconds. Must not be negative nor longer than about 49.7 days; <see cref="TimeSpan.Zero"/> hands
    /// running tasks back at once (the last writes still get a second); <see cref="Timeout.InfiniteTimeSpan"/> waits for
    /// them however long they run.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how long an ended task stays in the store after its end, for <see cref="TaskCluster.FindAsync"/>
    /// and for submitters that read its outcome late; then it goes, with its result, and so do the records of refused
    /// writes and of recoveries as old. Every member with a retention prunes the whole cluster, passes at most a minute
    /// apart (closer for a shorter retention): the shortest retention any member sets applies, so give every member the
    /// same. Once a task has gone, its id may be submitted again and runs again. A handle still waiting for a pruned
    /// task's outcome fails with a <see cref="TaskStoreException"/> instead of waiting for ever.</summary>
    /// <value>The default value is 1 day. <see langword="null"/>: this member prunes nothing. Otherwise at least twice the
    /// sum of <see cref="IdleSweepInterval"/> and the heartbeat (so that a submitter whose notification was lost reads the
    /// outcome before it goes), and at most 36,500 days.</value>
    public TimeSpan? OutcomeRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The longest retention: the cutoff (the server's clock minus it) must stay a valid time.</summary>
    private static readonly TimeSpan MaxOutcomeRetention = TimeSpan.FromDays(36_500);

    /// <summary>Gets the heartbeat interval in effect.</summary>
    internal TimeSpan EffectiveHeartbeat => HeartbeatInterval ?? LeaseDuration / 3;

    /// <summary>Checks every setting; throws naming the first one that is wrong.</summary>
    internal void Validate()
    {
        if (string.IsNullOrEmpty(Schema) || !SchemaName().IsMatch(Schema))
        {
            throw new ArgumentException($"{nameof(Schema)} must be lower-case letters, digits and underscores, starting with a letter or an underscore (at most 40 characters, so that its notification channels fit PostgreSQL's 63); was '{Schema}'.", nameof(Schema));
        }

        if (LeaseDuration < TimeSpan.FromMilliseconds(500))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration, $"{nameof(LeaseDuration)} must be at least 500 ms, was {LeaseDuration}.");
        }

        if (HeartbeatInterval is { } heartbeat && (heartbeat <= TimeSpan.Zero || heartbeat * 2 >= LeaseDuration))
        {
            throw new ArgumentOutOfRangeException(nameof(HeartbeatInterval), heartbeat, $"{nameof(HeartbeatInterval)} must be positive and shorter than half of {nameof(LeaseDuration)} ({LeaseDuration}), was {heartbeat}.");
        }

        if (LeaseBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseBatchSize), LeaseBatchSize, $"{nameof(LeaseBatchSize)} must be at least 1, was {LeaseBatchSize}.");
        }

        if (Prefetch is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Prefetch), Prefetch, $"{nameof(Prefetch)} must not be negative, was {Prefetch}.");
        }

        if (MaxDeliveries < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDeliveries), MaxDeliveries, $"{nameof(MaxDeliveries)} must be at least 1, was {MaxDeliveries}.");
        }

        if (IdleSweepInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(IdleSweepInterval), IdleSweepInterval, $"{nameof(IdleSweepInterval)} must be positive, was {IdleSweepInterval}.");
        }

        if (OutcomeRetention is { } retention)
        {
            // In milliseconds as doubles: the settings' sum may not fit a TimeSpan.
            var shortest = 2 * (IdleSweepInterval.TotalMilliseconds + EffectiveHeartbeat.TotalMilliseconds);
            if (retention.TotalMilliseconds < shortest || retention > MaxOutcomeRetention)
            {
                throw new ArgumentOutOfRangeException(nameof(OutcomeRetention), retention, $"{nameof(OutcomeRetention)} must be at least twice {nameof(IdleSweepInterval)} plus the heartbeat ({TimeSpan.FromMilliseconds(Math.Min(shortest, TimeSpan.MaxValue.TotalMilliseconds))}), so that a submitter whose notification was lost reads the outcome before it goes, and at most {MaxOutcomeRetention.TotalDays:N0} days; was {retention}. Null: this member prunes nothing.");
            }
        }

        if (QueueRescanInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueRescanInterval), QueueRescanInterval, $"{nameof(QueueRescanInterval)} must not be negative, was {QueueRescanInterval}.");
        }

        StopTimeouts.Validate(ShutdownTimeout, nameof(ShutdownTimeout));

        if (WriteBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(WriteBatchSize), WriteBatchSize, $"{nameof(WriteBatchSize)} must be at least 1, was {WriteBatchSize}.");
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$")]
    private static partial Regex SchemaName();
}
