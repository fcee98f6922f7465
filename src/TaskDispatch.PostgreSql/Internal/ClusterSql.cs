using System.Security.Cryptography;
using System.Text;

namespace TaskDispatch;

/// <summary>The statements of one cluster in one schema. Each writes many rows at once (arrays through <c>unnest</c>):
/// batching is what makes a shared table fast. Every write for a leased task is conditional on its lease token.</summary>
internal sealed class ClusterSql
{
    internal ClusterSql(string schema, string cluster)
    {
        var s = schema;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cluster)))[..12];
        WorkChannel = $"{s}_work_{hash}";
        DoneChannel = $"{s}_done_{hash}";
        CancelChannel = $"{s}_cancel_{hash}";

        // A waiting task is a task row in state 0 and one queue row (ready) with the same node, sort key and sequence number:
        // every statement that moves a task into or out of state 0 writes both. An unplaced task queues under node ''.
        Insert = InsertSql(s, idsGiven: true);
        InsertNew = InsertSql(s, idsGiven: false);
        Notify = "SELECT count(pg_notify($1, n)) FROM unnest($2::text[]) AS n";

        // The queue rows are picked first (an index range scan in the policy's order, skipping rows another session
        // holds) and deleted by row address, which the lock keeps stable; the task rows are then updated by primary key,
        // and the batch gets one lease row, one token, which the reaper finds by its expiry.
        // Task rows are reached here, as in every statement that writes a batch of them, through their keys given as
        // constants (KeysOf), never through a join the planner could order by a guess (see KeysOf).
        Lease = LeaseSql(s, afterMark: false);
        LeaseAfterMark = LeaseSql(s, afterMark: true);
        NextReady = $"SELECT min(ready_at) FROM {s}.ready WHERE cluster = $1 AND node = ANY($2)";
        // A node's leases come from one loop, one statement at a time, so the lease rows of this member and node with a
        // token above the last one it read can only be from a lease whose reply it never read.
        LeasesInDoubt = $"SELECT token, ids FROM {s}.leases WHERE cluster = $1 AND node = $2 AND member = $3 AND token > $4";

        // The done notifications' entries come made by the member ($11-$13: submitter, entry JSON, payload group; see
        // AddEndedEntries): the statement only joins them to the rows it accepted and concatenates each group. Both joins
        // match the token too: one batch can hold two ends of a task, a stale attempt's (refused) and the current one's.
        Acknowledge = $"""
            WITH v AS MATERIALIZED (
                SELECT $1::text AS cluster, * FROM unnest($2::text[], $3::int8[], $4::int2[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[],
                                                          $11::text[], $12::text[], $13::int[])
                    AS v(id, token, state, result, error, error_type, node, dead, submitter, entry, payload)),
            done AS (UPDATE {s}.tasks t SET state = v.state, result = v.result, error = v.error, error_type = v.error_type,
                         dead_letter = v.dead, ended_at = now(), lease_token = NULL, lease_expires = NULL, checkpoint = NULL,
                         completions = t.completions + CASE WHEN v.state = 4 THEN 1 ELSE 0 END
                     FROM v WHERE {KeysOf("t")} AND t.cluster = v.cluster AND t.id = v.id AND t.lease_token = v.token
                     RETURNING t.id, t.submitter, t.awaited, t.state, t.result, t.error, t.error_type, v.token),
            {ShrinkLeases(s, "done")},
            refused AS (INSERT INTO {s}.refused_acks (cluster, task_id, node, lease_token, state, at)
                        SELECT $1, v.id, v.node, v.token, v.state, now() FROM v WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.id = v.id AND done.token = v.token)
                        RETURNING task_id)
            SELECT (SELECT count(*) FROM refused)::int,
                   (SELECT count(pg_notify($10, p.payload))
                    FROM (SELECT v.submitter || ':[' || string_agg(v.entry, ', ' ORDER BY v.id) || ']' AS payload
                          FROM v JOIN done d ON d.id = v.id AND d.token = v.token
                          WHERE v.entry IS NOT NULL
                          GROUP BY v.submitter, v.payload) p)::int
            """;
        Release = $"""
            WITH v AS MATERIALIZED (SELECT $1::text AS cluster, * FROM unnest($2::text[], $3::int8[]) AS v(id, token)),
            released AS (
                UPDATE {s}.tasks t SET state = 0, lease_token = NULL, lease_expires = NULL, leased_by = NULL, attempts = greatest(t.attempts - 1, 0)
                FROM v WHERE {KeysOf("t")} AND t.cluster = v.cluster AND t.id = v.id AND t.lease_token = v.token
                RETURNING t.id, t.node, t.sort_key, t.seq, t.ready_at, v.token),
            {ShrinkLeases(s, "released")},
            {Enqueue(s, "released")}
            SELECT node FROM released
            """;
        // A lease row lives while any of its tasks is renewed; the reaper looks only at lease rows that ran out.
        Renew = $"""
            WITH v AS MATERIALIZED (SELECT $1::text AS cluster, * FROM unnest($2::text[], $3::int8[]) AS v(id, token)),
            renewed AS (
                UPDATE {s}.tasks t SET lease_expires = now() + $4
                FROM v WHERE {KeysOf("t")} AND t.cluster = v.cluster AND t.id = v.id AND t.lease_token = v.token
                RETURNING t.id, t.lease_token),
            {LockLeases(s, "SELECT DISTINCT lease_token FROM renewed")},
            extended AS (UPDATE {s}.leases l SET expires = now() + $4 WHERE l.cluster = $1 AND l.token IN (SELECT token FROM locked))
            SELECT id FROM renewed
            """;

        SaveCheckpoint = $"""
            UPDATE {s}.tasks SET checkpoint = $3, checkpoint_attempt = $4, checkpoint_at = now()
            WHERE cluster = $1 AND id = $2 AND state = 2 AND lease_token = $5
            """;
        LoadCheckpoint = $"SELECT checkpoint, checkpoint_attempt, checkpoint_at FROM {s}.tasks WHERE cluster = $1 AND id = $2 AND checkpoint IS NOT NULL";
        DeleteCheckpoint = $"UPDATE {s}.tasks SET checkpoint = NULL, checkpoint_attempt = NULL WHERE cluster = $1 AND id = $2 AND state = 2 AND lease_token = $3";
        RecordRefused = $"INSERT INTO {s}.refused_acks (cluster, task_id, node, lease_token, state, at) VALUES ($1, $2, $3, $4, -1, now())";

        RegisterNode = $"""
            INSERT INTO {s}.nodes AS n (cluster, name, member, host, pid, slots, weight, tags, resources, joined_at, heartbeat_at, alive)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), now(), true)
            ON CONFLICT (cluster, name) DO UPDATE SET member = excluded.member, host = excluded.host, pid = excluded.pid,
                slots = excluded.slots, weight = excluded.weight, tags = excluded.tags, resources = excluded.resources,
                joined_at = now(), heartbeat_at = now(), alive = true, left_at = NULL
            WHERE NOT n.alive OR n.member = excluded.member OR n.heartbeat_at < now() - $10
               OR (n.heartbeat_at < now() - $11
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'taskdispatch:' || n.member))
            RETURNING name
            """;
        Heartbeat = $"UPDATE {s}.nodes SET heartbeat_at = now() WHERE cluster = $1 AND member = $2 AND alive RETURNING name";
        Leave = $"UPDATE {s}.nodes SET alive = false, left_at = now() WHERE cluster = $1 AND member = $2";
        Nodes = NodesSql(s, withLoad: true);
        NodesLiveness = NodesSql(s, withLoad: false);

        // A member is live while it heartbeats within the lease. Its listener session gone (killed process, dropped
        // connection) ends that early, but only once two heartbeats are also missed: a database restart drops every
        // session at once, and members that reconnect and beat again must not take each other's work.
        DeclareDead = $"""
            UPDATE {s}.nodes n SET alive = false, left_at = now()
            WHERE n.cluster = $1 AND n.alive AND (n.heartbeat_at < now() - $2
               OR (n.heartbeat_at < now() - $3
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'taskdispatch:' || n.member)))
            RETURNING n.name
            """;
        // The candidates come from the narrow tables (lease rows that ran out or belong to the dead, queue rows of the
        // dead or of no node); the task rows decide. The queue rows are locked first (the first $3 after $5), in the order a
        // lease and a cancel lock them, so that none of them can deadlock with the reaper; rows a lease or a cancel holds
        // are skipped and looked at again next pass. The task rows are found by an array
        // of keys, not by a join: with the candidates' count unknown, the planner could read the task table in seq order
        // and scan the candidates for every row (four calls took 53 s in one run of the throughput benchmark).
        Orphans = $"""
            WITH dead AS (SELECT name FROM {s}.nodes WHERE cluster = $1 AND NOT alive),
            queued AS MATERIALIZED (
                SELECT r.id FROM {s}.ready r
                WHERE r.cluster = $1 AND r.seq > $5 AND (r.node IN (SELECT name FROM dead) OR (r.node = '' AND $4))
                ORDER BY r.seq LIMIT $3
                FOR UPDATE SKIP LOCKED),
            candidates AS MATERIALIZED (
                SELECT i.id FROM {s}.leases l CROSS JOIN LATERAL unnest(l.ids) AS i(id)
                WHERE l.cluster = $1 AND (l.expires < now() OR l.node IN (SELECT name FROM dead))
                UNION
                SELECT id FROM queued)
            SELECT t.id, t.options, t.node, t.state, t.attempts, t.cancel_requested, t.lease_expires - $2 AS renewed_at,
                   now() AS now, t.seq
            FROM {s}.tasks t
            WHERE t.cluster = $1 AND t.id = ANY(ARRAY(SELECT id FROM candidates)) AND t.seq > $5 AND (
                  (t.state = 2 AND t.lease_expires < now())
               OR (t.state = 2 AND t.node IN (SELECT name FROM dead))
               OR (t.state = 0 AND t.node IN (SELECT name FROM dead))
               OR (t.state = 0 AND t.node IS NULL AND $4))
            ORDER BY t.seq
            LIMIT $3
            FOR UPDATE OF t SKIP LOCKED
            """;
        // Lease rows that ran out with none of their tasks still leased under them are deleted here, in passing; the
        // answer is about the others. A task leased under one of the tokens is in that lease's ids: a token is one batch.
        // Here and in Nodes, task rows are found by arrays of keys, never by a join the planner could turn inside out.
        ReapNeeded = $"""
            WITH expired AS MATERIALIZED (SELECT l.token, l.ids FROM {s}.leases l WHERE l.cluster = $1 AND l.expires < now()),
            held AS MATERIALIZED (
                SELECT DISTINCT t.lease_token AS token FROM {s}.tasks t
                WHERE t.cluster = $1 AND t.id = ANY(ARRAY(SELECT unnest(ids) FROM expired)) AND t.state = 2
                  AND t.lease_token = ANY(ARRAY(SELECT token FROM expired))),
            spent AS (DELETE FROM {s}.leases l WHERE l.cluster = $1
                      AND l.token = ANY(ARRAY(SELECT token FROM expired EXCEPT SELECT token FROM held)))
            SELECT EXISTS (SELECT 1 FROM held)
                OR EXISTS (SELECT 1 FROM {s}.nodes n WHERE n.cluster = $1 AND NOT n.alive
                           AND (EXISTS (SELECT 1 FROM {s}.ready r WHERE r.cluster = $1 AND r.node = n.name)
                                OR EXISTS (SELECT 1 FROM {s}.leases l WHERE l.cluster = $1 AND l.node = n.name)))
                OR ($2 AND EXISTS (SELECT 1 FROM {s}.ready WHERE cluster = $1 AND node = ''))
            """;
        // The rows were locked by Orphans in this transaction: what "before" reads is what the update replaces.
        Replace = $"""
            WITH v AS MATERIALIZED (
                SELECT $1::text AS cluster, * FROM unnest($2::text[], $3::int2[], $4::text[], $5::bool[], $6::text[], $7::int[])
                    AS v(id, state, node, dead, error, recovered)),
            before AS MATERIALIZED (SELECT t.id, t.state, coalesce(t.node, '') AS node, t.sort_key, t.seq FROM {s}.tasks t
                                    JOIN v ON t.cluster = v.cluster AND t.id = v.id WHERE {KeysOf("t")}),
            dequeued AS (DELETE FROM {s}.ready r USING before b
                         WHERE r.cluster = $1 AND b.state = 0 AND r.node = b.node AND r.sort_key = b.sort_key AND r.seq = b.seq),
            moved AS (UPDATE {s}.tasks t SET state = v.state, node = coalesce(v.node, t.node), lease_token = NULL, lease_expires = NULL,
                          leased_by = NULL, recoveries = t.recoveries + v.recovered, dead_letter = v.dead,
                          error = coalesce(v.error, t.error), error_type = CASE WHEN v.error IS NULL THEN t.error_type ELSE 'TaskDispatch.NodeFailureException' END,
                          ended_at = CASE WHEN v.state >= 4 THEN now() ELSE NULL END
                      FROM v WHERE {KeysOf("t")} AND t.cluster = v.cluster AND t.id = v.id
                      RETURNING t.id, t.submitter, t.awaited, t.state, t.result, t.error, t.error_type, t.node, t.sort_key, t.seq, t.ready_at),
            {Enqueue(s, "(SELECT * FROM moved WHERE state = 0)")},
            ended AS (SELECT * FROM moved WHERE state >= 4)
            SELECT (SELECT count(pg_notify($8, d.payload)) FROM ({EndedPayloads("ended")}) d)::int
            """;
        RecordRecoveries = $"""
            INSERT INTO {s}.recoveries (cluster, task_id, from_node, to_node, reason, last_renewed_at, recovered_at)
            SELECT $1, v.id, v.from_node, v.to_node, v.reason, v.renewed, now()
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS v(id, from_node, to_node, reason, renewed)
            """;

        // The planner has no column statistics for a table autovacuum has not analyzed yet (it waits up to a minute);
        // it then guesses that cluster = $1 keeps 1 row in 200, and picks plans (a sort of a whole node's queue, a scan
        // of every task of the cluster) that cost a hundred times more once thousands of rows are there.
        AnalyzeStatus = $"""
            SELECT c.relname, st.n_tup_ins >= $1, st.last_analyze IS NOT NULL OR st.last_autoanalyze IS NOT NULL
            FROM pg_class c JOIN pg_stat_user_tables st ON st.relid = c.oid
            WHERE c.oid IN (to_regclass('{s}.tasks'), to_regclass('{s}.ready'))
            """;

        Find = $"""
            SELECT id, handler, state, node, attempts, recoveries, submitted_at, started_at, ended_at, result, error, error_type, dead_letter
            FROM {s}.tasks WHERE cluster = $1 AND id = $2
            """;
        // The queue row is locked before the task row, in the order a lease locks them, so that the two cannot deadlock. A
        // queue row a lease holds at that moment means the task is being leased: it is flagged as a running task is, and
        // the lease reads the flag (its update waits for this one) and ends it cancelled.
        Cancel = $"""
            WITH queued AS MATERIALIZED (
                SELECT r.ctid AS address FROM {s}.tasks t
                JOIN {s}.ready r ON r.cluster = t.cluster AND r.node = coalesce(t.node, '') AND r.sort_key = t.sort_key AND r.seq = t.seq
                WHERE t.cluster = $1 AND t.id = $2 AND t.state = 0
                FOR UPDATE OF r SKIP LOCKED),
            waiting AS (UPDATE {s}.tasks SET state = 6, ended_at = now(), cancel_requested = true, error = 'Cancelled by id.'
                        WHERE cluster = $1 AND id = $2 AND state = 0 AND EXISTS (SELECT 1 FROM queued)
                        RETURNING id, submitter, awaited, state, result, error, error_type),
            dequeued AS (DELETE FROM {s}.ready WHERE ctid = ANY(ARRAY(SELECT address FROM queued))),
            running AS (UPDATE {s}.tasks SET cancel_requested = true
                        WHERE cluster = $1 AND id = $2 AND (state = 2 OR (state = 0 AND NOT EXISTS (SELECT 1 FROM queued)))
                        RETURNING id)
            SELECT (SELECT count(*) FROM waiting)::int, (SELECT count(*) FROM running)::int,
                   (SELECT count(pg_notify($3, d.payload)) FROM ({EndedPayloads("waiting")}) d)::int,
                   (SELECT count(pg_notify($4, r.id)) FROM running r)::int
            """;
        // Every row of the ids, ended or not: an awaited id with no row at all is a task whose outcome was pruned.
        OutcomesById = $"SELECT id, state, result, error, error_type FROM {s}.tasks WHERE cluster = $1 AND id = ANY($2)";

        // Oldest first, through the submission-time index, up to the cutoff: the walk never reaches tasks too young to go.
        // Rows another member prunes at the moment are skipped. Ended rows never change again (every fenced write
        // needs a lease token, which an end clears), so the addresses locked here are the rows deleted. It runs after
        // PruneWalk in its transaction (see there).
        // Within a pass each batch starts where the one before it ended ($4, the last submission time it deleted; null at
        // first), so that tasks that have not ended and the index entries of rows deleted just before are walked once.
        Prune = $"""
            WITH doomed AS MATERIALIZED (
                SELECT ctid AS address, submitted_at FROM {s}.tasks
                WHERE cluster = $1 AND submitted_at >= coalesce($4, '-infinity') AND submitted_at < now() - $2
                  AND state >= 4 AND ended_at < now() - $2
                ORDER BY submitted_at LIMIT $3
                FOR UPDATE SKIP LOCKED),
            gone AS (DELETE FROM {s}.tasks WHERE ctid = ANY(ARRAY(SELECT address FROM doomed)) RETURNING 1)
            SELECT (SELECT count(*) FROM gone)::int, (SELECT max(submitted_at) FROM doomed)
            """;
        // Without statistics (a new table) the planner guesses that few tasks are older than the cutoff, and reads every
        // one of them through a bitmap to sort them: each batch would then cost as much as the whole backlog. The walk in
        // index order stops after the batch whatever the statistics say.
        PruneWalk = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off";
        // The records of faults (late writes refused, tasks taken back) are few while the cluster is healthy: no index.
        PruneRecords = $"""
            WITH refused AS (DELETE FROM {s}.refused_acks WHERE cluster = $1 AND at < now() - $2 RETURNING 1),
            recovered AS (DELETE FROM {s}.recoveries WHERE cluster = $1 AND recovered_at < now() - $2 RETURNING 1)
            SELECT (SELECT count(*) FROM refused)::int + (SELECT count(*) FROM recovered)::int
            """;
        FairPass = $"""
            INSERT INTO {s}.fair_keys AS f (cluster, key, pass)
            VALUES ($1, $2, coalesce((SELECT min(pass) FROM {s}.fair_keys WHERE cluster = $1), 0) + $3)
            ON CONFLICT (cluster, key) DO UPDATE SET pass = greatest(f.pass, coalesce((SELECT min(pass) FROM {s}.fair_keys WHERE cluster = $1 AND key <> $2), 0)) + $3
            RETURNING pass - $3
            """;
    }

    /// <summary>The cluster's nodes that are live or left within the hour, by name. With <paramref name="withLoad"/>, each
    /// with its queued and leased tasks: the load-aware strategies need them, and reading them costs a count of the
    /// node's queue and a look-up of every leased task. Without it, those two columns are 0 and the statement reads the
    /// membership table alone (the health check).</summary>
    private static string NodesSql(string s, bool withLoad) => $"""
            {(withLoad ? $"""
            WITH lease AS MATERIALIZED (SELECT l.token, l.node, l.ids FROM {s}.leases l WHERE l.cluster = $1),
            leased AS MATERIALIZED (
                SELECT l.node, count(*)::int AS tasks FROM {s}.tasks t JOIN lease l ON l.token = t.lease_token
                WHERE t.cluster = $1 AND t.id = ANY(ARRAY(SELECT unnest(ids) FROM lease)) AND t.state = 2
                GROUP BY l.node)
            """ : "")}
            SELECT n.name, n.member, n.host, n.pid, n.slots, n.weight, n.tags, n.resources, n.heartbeat_at,
                   n.alive AND n.heartbeat_at > now() - $2
                       AND (n.heartbeat_at > now() - $3
                            OR EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'taskdispatch:' || n.member)) AS live,
                   {(withLoad ? $"(SELECT count(*) FROM {s}.ready r WHERE r.cluster = n.cluster AND r.node = n.name)::int" : "0")} AS waiting,
                   {(withLoad ? "coalesce((SELECT d.tasks FROM leased d WHERE d.node = n.name), 0)" : "0")} AS leased
            FROM {s}.nodes n WHERE n.cluster = $1 AND (n.alive OR n.left_at > now() - interval '1 hour')
            ORDER BY n.name
            """;

    /// <summary>The submission: the task rows, their queue rows and one notification per node. With
    /// <paramref name="idsGiven"/>, an id already taken is skipped (<c>ON CONFLICT DO NOTHING</c>: the caller waits for
    /// that task instead) and the ids written come back; without it, for ids this member made up, a taken id fails the
    /// statement, so the speculative insertion <c>ON CONFLICT</c> costs on every row (a quarter of the insert, 15 against
    /// 11 ms per 1,000 rows) is saved, and only the count of rows written comes back.</summary>
    private static string InsertSql(string s, bool idsGiven) => $"""
            WITH inserted AS (
                INSERT INTO {s}.tasks (cluster, id, handler, input, options, sort_key, state, node, submitter, awaited, submitted_at, ready_at)
                SELECT $1, v.id, v.handler, v.input, v.options, v.sort_key, 0, v.node, $2, v.awaited, now(), coalesce(v.ready_at, now())
                FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::timestamptz[], $10::bool[])
                    AS v(id, handler, input, options, sort_key, node, ready_at, awaited)
                {(idsGiven ? "ON CONFLICT (cluster, id) DO NOTHING" : "")}
                RETURNING id, node, sort_key, seq, ready_at),
            {Enqueue(s, "inserted")},
            -- Each node that got work hears where the first of it sits in its queue (see WorkNotice), so that a node whose
            -- leases start after an earlier batch's end looks from the head again only when something landed behind it.
            announced AS (
                SELECT pg_notify($11, f.node || chr(10) || encode(float8send(f.sort_key), 'hex') || chr(10) || f.seq::text)
                FROM (SELECT DISTINCT ON (node) node, sort_key, seq FROM inserted WHERE node IS NOT NULL ORDER BY node, sort_key, seq) f)
            {(idsGiven ? "SELECT i.id" : "SELECT count(*)::int")} FROM inserted i CROSS JOIN (SELECT count(*) FROM announced) a
            """;

    /// <summary>The lease statement: picks up to $3 queue rows of node $2 in the policy's order, from the head of the
    /// queue or (<paramref name="afterMark"/>) after the position ($6, $7) the node's previous batch ended at.</summary>
    private static string LeaseSql(string s, bool afterMark) => $"""
            WITH picked AS MATERIALIZED (
                SELECT ctid AS address, cluster, id FROM {s}.ready WHERE cluster = $1 AND node = $2 AND ready_at <= now(){(afterMark ? " AND (sort_key, seq) > ($6, $7)" : "")}
                ORDER BY sort_key, seq LIMIT $3 FOR UPDATE SKIP LOCKED),
            dequeued AS (DELETE FROM {s}.ready WHERE ctid = ANY(ARRAY(SELECT address FROM picked))),
            lease AS MATERIALIZED (SELECT nextval('{s}.lease_seq') AS token),
            leased AS (
                UPDATE {s}.tasks t SET state = 2, lease_token = (SELECT token FROM lease), lease_expires = now() + $4, leased_by = $5,
                    attempts = t.attempts + 1, started_at = coalesce(t.started_at, now())
                WHERE t.cluster = $1 AND t.id = ANY(ARRAY(SELECT id FROM picked)) AND t.state = 0
                RETURNING t.id, t.handler, t.input, t.options, t.lease_token, t.sort_key, t.seq, t.cancel_requested, t.attempts,
                    CASE WHEN t.awaited THEN t.submitter END AS submitter),
            recorded AS (
                INSERT INTO {s}.leases (cluster, token, node, member, expires, ids, remaining)
                SELECT $1, (SELECT token FROM lease), $2, $5, now() + $4, array_agg(id), count(*) FROM leased HAVING count(*) > 0)
            SELECT * FROM leased
            """;

    /// <summary>The condition that reaches the task rows of a batch whose ids are <c>$2</c>: by their primary key, with both
    /// of its columns given as constants, so that each row is one index lookup whatever the statistics say. Statements
    /// that join the batch add <c>t.cluster = v.cluster AND t.id = v.id</c> as well: the planner then sees the batch as
    /// a handful of rows of the cluster and looks each one up (a nested loop over the key), with statistics or without;
    /// with the constants alone it read every row of the cluster before the table had statistics.</summary>
    /// <remarks>A join on the batch with a constant condition on the task table (<c>state = 2</c>) let the planner, after
    /// statistics were taken at a moment when hardly any task was leased, expect one leased row and loop over the whole
    /// batch for every leased row of the table: an acknowledgement of 1,000 tasks took 2.5-4 s with 19,000 leased, the
    /// backlog outlived the leases, and every delivery of 9,957 tasks was refused until they were dead-lettered. The
    /// fenced statements therefore test only the token, which a row holds exactly while it is leased (every statement
    /// that moves a task out of state 2 clears it).</remarks>
    private static string KeysOf(string alias) => $"{alias}.cluster = $1 AND {alias}.id = ANY($2)";

    /// <summary>A CTE <c>queued</c> that writes the queue row of each task of <paramref name="rows"/> (task rows just
    /// written in state 0, with node, sort_key, seq, ready_at and id): the one place the queue row is made to mirror its
    /// task row.</summary>
    private static string Enqueue(string schema, string rows) => $"""
        queued AS (INSERT INTO {schema}.ready (cluster, node, sort_key, seq, ready_at, id)
                       SELECT $1, coalesce(r.node, ''), r.sort_key, r.seq, r.ready_at, r.id FROM {rows} r)
        """;

    /// <summary>CTEs that count the tasks of <paramref name="rows"/> (a CTE with a <c>token</c> column: tasks that just
    /// left their lease) off their lease rows, and delete the lease rows left holding none.</summary>
    private static string ShrinkLeases(string schema, string rows) => $"""
        spent AS MATERIALIZED (SELECT r.token, count(*)::int AS tasks FROM {rows} r GROUP BY r.token),
            {LockLeases(schema, "SELECT token FROM spent")},
            shrunk AS (UPDATE {schema}.leases l SET remaining = l.remaining - x.tasks FROM spent x
                       WHERE l.cluster = $1 AND l.token = x.token AND l.token IN (SELECT token FROM locked) AND l.remaining > x.tasks),
            finished AS (DELETE FROM {schema}.leases l USING spent x
                         WHERE l.cluster = $1 AND l.token = x.token AND l.token IN (SELECT token FROM locked) AND l.remaining <= x.tasks)
        """;

    /// <summary>A CTE <c>locked</c> that locks the lease rows of the tokens <paramref name="tokens"/> selects, in token
    /// order: statements that write several lease rows (acknowledgements, releases, renewals) then cannot deadlock on
    /// them. The statements that use it reference <c>locked</c>, so that it runs before their writes.</summary>
    private static string LockLeases(string schema, string tokens) => $"""
        locked AS MATERIALIZED (SELECT l.token FROM {schema}.leases l WHERE l.cluster = $1 AND l.token = ANY(ARRAY({tokens}))
                                    ORDER BY l.token FOR UPDATE)
        """;

    /// <summary>The NOTIFY payloads that tell submitters which of their tasks ended, and how
    /// (<see cref="EndedNotice"/>): <c>member:[[id, state, result, error, error_type], ...]</c>, an outcome longer than
    /// <see cref="EndedNotice.MaxCarriedBytes"/> as <c>[id]</c> alone, in payloads of about
    /// <see cref="EndedNotice.PayloadBytes"/> (the server refuses 8,000). Delivering a result then costs neither a write
    /// nor, for the usual small result, a read. <paramref name="rows"/> has id, submitter, awaited, state, result, error
    /// and error_type.</summary>
    /// <remarks>An outcome whose raw texts are already too long is never built (escaping a 200,000-character result only
    /// to drop it); the others are built and measured once. Each entry counts 2 bytes more for json_agg's ", ".</remarks>
    internal static string EndedPayloads(string rows) => $"""
        SELECT e.submitter || ':' || json_agg(e.entry ORDER BY e.id)::text AS payload
        FROM (SELECT c.submitter, c.id, c.entry,
                     sum(c.bytes + 2) OVER (PARTITION BY c.submitter ORDER BY c.id) / {EndedNotice.PayloadBytes} AS chunk
              FROM (SELECT r.submitter, r.id,
                           CASE WHEN x.bytes <= {EndedNotice.MaxCarriedBytes} THEN x.entry ELSE json_build_array(r.id) END AS entry,
                           CASE WHEN x.bytes <= {EndedNotice.MaxCarriedBytes} THEN x.bytes ELSE octet_length(r.id) + 4 END AS bytes
                    FROM {rows} r
                    CROSS JOIN LATERAL (SELECT b.entry, octet_length(b.entry::text) AS bytes
                                        FROM (SELECT CASE WHEN octet_length(r.id) + coalesce(octet_length(r.result), 0) + coalesce(octet_length(r.error), 0)
                                                               + coalesce(octet_length(r.error_type), 0) <= {EndedNotice.MaxCarriedBytes}
                                                          THEN json_build_array(r.id, r.state, r.result, r.error, r.error_type) END AS entry) b) x
                    WHERE r.awaited AND r.submitter IS NOT NULL AND octet_length(r.id) <= {EndedNotice.MaxCarriedBytes - 4}) c) e
        GROUP BY e.submitter, e.chunk
        """;

    internal string WorkChannel { get; }

    internal string DoneChannel { get; }

    internal string CancelChannel { get; }

    internal string Insert { get; }

    internal string InsertNew { get; }

    internal string Notify { get; }

    internal string Lease { get; }

    internal string LeaseAfterMark { get; }

    internal string NextReady { get; }

    internal string LeasesInDoubt { get; }

    internal string Acknowledge { get; }

    internal string Release { get; }

    internal string Renew { get; }

    internal string SaveCheckpoint { get; }

    internal string LoadCheckpoint { get; }

    internal string DeleteCheckpoint { get; }

    internal string RecordRefused { get; }

    internal string RegisterNode { get; }

    internal string Heartbeat { get; }

    internal string Leave { get; }

    internal string Nodes { get; }

    internal string NodesLiveness { get; }

    internal string DeclareDead { get; }

    internal string Orphans { get; }

    internal string ReapNeeded { get; }

    internal string Replace { get; }

    internal string RecordRecoveries { get; }

    internal string AnalyzeStatus { get; }

    internal string Find { get; }

    internal string Cancel { get; }

    internal string OutcomesById { get; }

    internal string Prune { get; }

    internal string PruneWalk { get; }

    internal string PruneRecords { get; }

    internal string FairPass { get; }
}
