using Npgsql;

namespace TaskDispatch;

/// <summary>The cluster's tables, created and migrated in order under an advisory lock, so that members starting
/// together do not race; the version lives in the schema's <c>meta</c> table.</summary>
internal static class ClusterSchema
{
    /// <summary>The schema version this build writes and reads.</summary>
    internal const int CurrentVersion = 4;

    /// <summary>Task states as stored: the values of <see cref="TaskState"/> the table uses.</summary>
    internal const short Waiting = (short)TaskState.Pending;
    internal const short Leased = (short)TaskState.Running;
    internal const short Completed = (short)TaskState.Completed;
    internal const short Failed = (short)TaskState.Failed;
    internal const short Cancelled = (short)TaskState.Cancelled;

    /// <summary>Each migration takes the schema from the version before it to its own number (index + 1).</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE SEQUENCE {s}.task_seq;
        CREATE SEQUENCE {s}.lease_seq;
        CREATE TABLE {s}.nodes (
            cluster text NOT NULL,
            name text NOT NULL,
            member text NOT NULL,
            host text NOT NULL,
            pid int NOT NULL,
            slots int NOT NULL,
            weight double precision NOT NULL,
            tags text[] NOT NULL,
            resources text NOT NULL,
            joined_at timestamptz NOT NULL,
            heartbeat_at timestamptz NOT NULL,
            alive boolean NOT NULL DEFAULT true,
            left_at timestamptz,
            PRIMARY KEY (cluster, name));
        CREATE TABLE {s}.tasks (
            cluster text NOT NULL,
            id text NOT NULL,
            seq bigint NOT NULL DEFAULT nextval('{s}.task_seq'),
            handler text NOT NULL,
            input text NOT NULL,
            options text NOT NULL,
            sort_key double precision NOT NULL,
            state smallint NOT NULL,
            node text,
            submitter text,
            awaited boolean NOT NULL DEFAULT false,
            submitted_at timestamptz NOT NULL,
            ready_at timestamptz NOT NULL,
            lease_token bigint,
            lease_expires timestamptz,
            leased_by text,
            attempts int NOT NULL DEFAULT 0,
            completions int NOT NULL DEFAULT 0,
            recoveries int NOT NULL DEFAULT 0,
            started_at timestamptz,
            ended_at timestamptz,
            result text,
            error text,
            error_type text,
            dead_letter boolean NOT NULL DEFAULT false,
            cancel_requested boolean NOT NULL DEFAULT false,
            checkpoint bytea,
            checkpoint_attempt int,
            checkpoint_at timestamptz,
            PRIMARY KEY (cluster, id));
        CREATE INDEX tasks_ready ON {s}.tasks (cluster, node, sort_key, seq) WHERE state = 0;
        CREATE INDEX tasks_leased ON {s}.tasks (cluster, lease_expires) WHERE state = 2;
        CREATE TABLE {s}.refused_acks (
            cluster text NOT NULL,
            task_id text NOT NULL,
            node text NOT NULL,
            lease_token bigint NOT NULL,
            state smallint NOT NULL,
            at timestamptz NOT NULL);
        CREATE TABLE {s}.recoveries (
            cluster text NOT NULL,
            task_id text NOT NULL,
            from_node text NOT NULL,
            to_node text,
            reason text NOT NULL,
            last_renewed_at timestamptz NOT NULL,
            recovered_at timestamptz NOT NULL);
        CREATE TABLE {s}.fair_keys (
            cluster text NOT NULL,
            key text NOT NULL,
            pass double precision NOT NULL,
            PRIMARY KEY (cluster, key));
        """,
        // Version 2: the queue and the leases move out of the task table. Waiting tasks are rows of a narrow table that
        // the lease deletes; a lease is one row per batch, found by its expiry. The task row is then indexed by its key
        // alone and never changes an indexed column, so its updates (lease, renewal, end) stay on its page (HOT) and
        // write no index entries; with the old partial indexes each lease and each end wrote three. Fillfactor 40 leaves
        // room for the row's next versions: 92 % of updates were HOT in a throughput-benchmark run (65 % at 60; counted
        // by hand). A lease row counts the tasks it still holds and goes when the last one ends; one whose tasks were
        // taken back goes once it runs out.
        """
        CREATE TABLE {s}.ready (
            cluster text NOT NULL,
            node text NOT NULL,
            sort_key double precision NOT NULL,
            seq bigint NOT NULL,
            ready_at timestamptz NOT NULL,
            id text NOT NULL);
        CREATE INDEX ready_order ON {s}.ready (cluster, node, sort_key, seq);
        CREATE TABLE {s}.leases (
            cluster text NOT NULL,
            token bigint NOT NULL,
            node text NOT NULL,
            member text NOT NULL,
            expires timestamptz NOT NULL,
            ids text[] NOT NULL,
            remaining int NOT NULL,
            PRIMARY KEY (cluster, token));
        INSERT INTO {s}.ready (cluster, node, sort_key, seq, ready_at, id)
            SELECT cluster, coalesce(node, ''), sort_key, seq, ready_at, id FROM {s}.tasks WHERE state = 0;
        INSERT INTO {s}.leases (cluster, token, node, member, expires, ids, remaining)
            SELECT cluster, lease_token, min(node), coalesce(min(leased_by), ''), max(lease_expires), array_agg(id), count(*)
            FROM {s}.tasks WHERE state = 2 AND lease_token IS NOT NULL GROUP BY cluster, lease_token;
        DROP INDEX {s}.tasks_ready;
        DROP INDEX {s}.tasks_leased;
        ALTER TABLE {s}.tasks SET (fillfactor = 40);
        """,
        // Version 3: the keys compare byte by byte. Under a database's linguistic collation (en-US, ICU or libc) every
        // step down a key index calls the collation: a run of the throughput benchmark in an ICU en-US database cost
        // 19 % more CPU than in a C one. The columns that are indexed or joined on are cluster names, task ids and node
        // names, which no one reads in linguistic order. Only the collation changes: the rows stay where they are, the
        // indexes on those columns are rebuilt. Version 2 members, whose statements are the same, keep working; they
        // wait while it runs. All five tables are locked first, so that no member's statement, holding one of them and
        // waiting for another, can deadlock with a rebuild half done (MigrateAsync retries a deadlock in the locking).
        """
        LOCK TABLE {s}.ready, {s}.tasks, {s}.leases, {s}.nodes, {s}.fair_keys IN ACCESS EXCLUSIVE MODE;
        ALTER TABLE {s}.tasks ALTER COLUMN cluster TYPE text COLLATE "C", ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN node TYPE text COLLATE "C";
        ALTER TABLE {s}.ready ALTER COLUMN cluster TYPE text COLLATE "C", ALTER COLUMN node TYPE text COLLATE "C", ALTER COLUMN id TYPE text COLLATE "C";
        ALTER TABLE {s}.leases ALTER COLUMN cluster TYPE text COLLATE "C", ALTER COLUMN node TYPE text COLLATE "C";
        ALTER TABLE {s}.nodes ALTER COLUMN cluster TYPE text COLLATE "C", ALTER COLUMN name TYPE text COLLATE "C";
        ALTER TABLE {s}.fair_keys ALTER COLUMN cluster TYPE text COLLATE "C", ALTER COLUMN key TYPE text COLLATE "C";
        """,
        // Version 4: ended tasks go once their outcome's retention ran out (PostgreSqlClusterOptions.OutcomeRetention).
        // The pruner walks a cluster's tasks in submission order and stops at the cutoff: a task submitted after it cannot
        // have ended before it. The submission time never changes, so the task row's updates stay HOT; the index costs
        // one entry per submitted task. Building it holds writes to the task table back while it runs: on a large table,
        // build it first with CREATE INDEX CONCURRENTLY under the same name, and the migration keeps it without taking
        // the table's lock (an invalid one, left by a failed concurrent build, is built again).
        """
        DO $migration$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('{s}.tasks_submitted') AND indisvalid) THEN
                DROP INDEX IF EXISTS {s}.tasks_submitted;
                CREATE INDEX tasks_submitted ON {s}.tasks (cluster, submitted_at);
            END IF;
        END
        $migration$;
        """,
    ];

    /// <summary>Creates the schema or brings it to <see cref="CurrentVersion"/>; throws when the database holds a newer
    /// schema than this build knows.</summary>
    internal static async Task MigrateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        // A migration that locks tables running members write can be chosen as a deadlock's victim, or give up waiting
        // for a lock (lock_timeout); it rolled back whole, so it is simply run again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(dataSource, schema, CurrentVersion, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException exception) when (exception.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable && attempt < MaxMigrationAttempts)
            {
            }
        }
    }

    /// <summary>How many times a migration chosen as a deadlock's victim is tried in all.</summary>
    private const int MaxMigrationAttempts = 5;

    /// <summary>Brings the schema to <paramref name="targetVersion"/> (tests build an older schema with it to migrate from).</summary>
    internal static async Task MigrateAsync(NpgsqlDataSource dataSource, string schema, int targetVersion, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock(hashtext('taskdispatch.schema.' || '{schema}'))", cancellationToken).ConfigureAwait(false);

        // A migration waiting for a table's lock holds back every member's writes queued behind it; one that cannot get
        // its locks within this gives up and is run again (MigrateAsync), letting those writes through in between.
        await ExecuteAsync(connection, "SET LOCAL lock_timeout = '10s'", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE IF NOT EXISTS {schema}.meta (key text PRIMARY KEY, value text NOT NULL)", cancellationToken).ConfigureAwait(false);

        var read = new NpgsqlCommand($"SELECT value FROM {schema}.meta WHERE key = 'schema_version'", connection);

        await using (read.ConfigureAwait(false))
        {
            var found = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            var version = found is null ? 0 : int.Parse(found, System.Globalization.CultureInfo.InvariantCulture);
            if (version > CurrentVersion)
            {
                throw new TaskStoreException($"The PostgreSQL schema '{schema}' is at version {version}, newer than the {CurrentVersion} this TaskDispatch.PostgreSql knows: upgrade the package in this process (or point it at another schema); it does not write to a schema it does not understand.");
            }

            if (version == 1 && targetVersion >= 2)
            {
                await RefuseWhileVersion1RunsAsync(connection, schema, cancellationToken).ConfigureAwait(false);
            }

            for (var next = version; next < targetVersion; next++)
            {
                await ExecuteAsync(connection, Migrations[next].Replace("{s}", schema, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
            }

            if (version < targetVersion)
            {
                await ExecuteAsync(connection, $"INSERT INTO {schema}.meta (key, value) VALUES ('schema_version', '{targetVersion}') ON CONFLICT (key) DO UPDATE SET value = excluded.value", cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A version 1 member keeps its queue and leases in the task table: one still running after the migration
    /// would submit tasks no version 2 member leases, and lease tasks no reaper finds again. So the migration waits for
    /// every member to stop (its nodes' heartbeats a minute old, or their leaving recorded).</summary>
    private static async Task RefuseWhileVersion1RunsAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            $"SELECT string_agg(DISTINCT member, ', ') FROM {schema}.nodes WHERE alive AND heartbeat_at > now() - interval '1 minute'", connection);
        await using var commandDisposal = command.ConfigureAwait(false);
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string running)
        {
            throw new TaskStoreException($"The PostgreSQL schema '{schema}' is at version 1 and members of it still run ({running}): stop every member of every cluster in this schema, then start members of this version, which migrate it to version {CurrentVersion}. A version 1 member left running would write tasks this version does not see.");
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        // No command timeout: a migration that rebuilds an index of a large table takes as long as that takes, and one
        // cut off at 30 s would be cut off at every start. The caller's token still stops it.
        var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await using var commandDisposal = command.ConfigureAwait(false);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
