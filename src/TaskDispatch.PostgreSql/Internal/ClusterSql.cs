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

        Insert = $"""
            INSERT INTO {s}.tasks (cluster, id, handler, input, options, sort_key, state, node, submitter, awaited, submitted_at, ready_at)
            SELECT $1, v.id, v.handler, v.input, v.options, v.sort_key, 0, v.node, $2, v.awaited, now(), coalesce(v.ready_at, now())
            FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::timestamptz[], $10::bool[])
                AS v(id, handler, input, options, sort_key, node, ready_at, awaited)
            ON CONFLICT (cluster, id) DO NOTHING
            RETURNING id
            """;
        Notify = "SELECT count(pg_notify($1, n)) FROM unnest($2::text[]) AS n";

        // The ids are picked first (an index range scan in the policy's order, skipping rows other nodes hold), then
        // updated by primary key: the planner never joins the whole table.
        // A member is live while it heartbeats within the lease. Its listener session gone (killed process, dropped
        // connection) ends that early, but only once two heartbeats are also missed: a database restart drops every
        // session at once, and members that reconnect and beat again must not take each other's work.
        Lease = $"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM {s}.tasks WHERE cluster = $1 AND node = $2 AND state = 0 AND ready_at <= now()
                ORDER BY sort_key, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
            UPDATE {s}.tasks t SET state = 2, lease_token = nextval('{s}.lease_seq'), lease_expires = now() + $4, leased_by = $5,
                attempts = t.attempts + 1, started_at = coalesce(t.started_at, now())
            WHERE t.cluster = $1 AND t.id = ANY(ARRAY(SELECT id FROM picked))
            RETURNING t.id, t.handler, t.input, t.options, t.lease_token, t.sort_key, t.seq, t.cancel_requested, t.attempts
            """;
        NextReady = $"SELECT min(ready_at) FROM {s}.tasks WHERE cluster = $1 AND node = ANY($2) AND state = 0";

        Acknowledge = $"""
            WITH v AS (SELECT * FROM unnest($2::text[], $3::int8[], $4::int2[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[])
                       AS v(id, token, state, result, error, error_type, node, dead)),
            done AS (UPDATE {s}.tasks t SET state = v.state, result = v.result, error = v.error, error_type = v.error_type,
                         dead_letter = v.dead, ended_at = now(), lease_token = NULL, lease_expires = NULL, checkpoint = NULL,
                         completions = t.completions + CASE WHEN v.state = 4 THEN 1 ELSE 0 END
                     FROM v WHERE t.cluster = $1 AND t.id = v.id AND t.state = 2 AND t.lease_token = v.token
                     RETURNING t.id, t.submitter, t.awaited, t.state, t.result, t.error, t.error_type),
            refused AS (INSERT INTO {s}.refused_acks (cluster, task_id, node, lease_token, state, at)
                        SELECT $1, v.id, v.node, v.token, v.state, now() FROM v WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.id = v.id)
                        RETURNING task_id)
            SELECT (SELECT count(*) FROM refused)::int,
                   (SELECT count(pg_notify($10, d.payload)) FROM ({EndedPayloads("done")}) d)::int
            """;
        Release = $"""
            UPDATE {s}.tasks t SET state = 0, lease_token = NULL, lease_expires = NULL, leased_by = NULL, attempts = greatest(t.attempts - 1, 0)
            FROM unnest($2::text[], $3::int8[]) AS v(id, token)
            WHERE t.cluster = $1 AND t.id = v.id AND t.state = 2 AND t.lease_token = v.token
            RETURNING t.node
            """;
        Renew = $"""
            UPDATE {s}.tasks t SET lease_expires = now() + $4
            FROM unnest($2::text[], $3::int8[]) AS v(id, token)
            WHERE t.cluster = $1 AND t.id = v.id AND t.state = 2 AND t.lease_token = v.token
            RETURNING t.id
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
        Nodes = $"""
            SELECT n.name, n.member, n.host, n.pid, n.slots, n.weight, n.tags, n.resources, n.heartbeat_at,
                   n.alive AND n.heartbeat_at > now() - $2
                       AND (n.heartbeat_at > now() - $3
                            OR EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'taskdispatch:' || n.member)) AS live,
                   (SELECT count(*) FROM {s}.tasks t WHERE t.cluster = n.cluster AND t.node = n.name AND t.state = 0)::int AS waiting,
                   (SELECT count(*) FROM {s}.tasks t WHERE t.cluster = n.cluster AND t.node = n.name AND t.state = 2)::int AS leased
            FROM {s}.nodes n WHERE n.cluster = $1 AND (n.alive OR n.left_at > now() - interval '1 hour')
            ORDER BY n.name
            """;

        DeclareDead = $"""
            UPDATE {s}.nodes n SET alive = false, left_at = now()
            WHERE n.cluster = $1 AND n.alive AND (n.heartbeat_at < now() - $2
               OR (n.heartbeat_at < now() - $3
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'taskdispatch:' || n.member)))
            RETURNING n.name
            """;
        Orphans = $"""
            WITH dead AS (SELECT name FROM {s}.nodes WHERE cluster = $1 AND NOT alive)
            SELECT t.id, t.options, t.node, t.state, t.attempts, t.cancel_requested, t.lease_expires - $2 AS renewed_at,
                   now() AS now, t.seq
            FROM {s}.tasks t
            WHERE t.cluster = $1 AND t.seq > $5 AND (
                  (t.state = 2 AND t.lease_expires < now())
               OR (t.state = 2 AND t.node IN (SELECT name FROM dead))
               OR (t.state = 0 AND t.node IN (SELECT name FROM dead))
               OR (t.state = 0 AND t.node IS NULL AND $4))
            ORDER BY t.seq
            LIMIT $3
            FOR UPDATE OF t SKIP LOCKED
            """;
        ReapNeeded = $"""
            SELECT EXISTS (SELECT 1 FROM {s}.tasks WHERE cluster = $1 AND state = 2 AND lease_expires < now())
                OR EXISTS (SELECT 1 FROM {s}.nodes n WHERE n.cluster = $1 AND NOT n.alive
                           AND EXISTS (SELECT 1 FROM {s}.tasks t WHERE t.cluster = $1 AND t.node = n.name AND t.state IN (0, 2)))
                OR ($2 AND EXISTS (SELECT 1 FROM {s}.tasks WHERE cluster = $1 AND node IS NULL AND state = 0))
            """;
        Replace = $"""
            WITH v AS (SELECT * FROM unnest($2::text[], $3::int2[], $4::text[], $5::bool[], $6::text[], $7::int[])
                       AS v(id, state, node, dead, error, recovered)),
            moved AS (UPDATE {s}.tasks t SET state = v.state, node = coalesce(v.node, t.node), lease_token = NULL, lease_expires = NULL,
                          leased_by = NULL, recoveries = t.recoveries + v.recovered, dead_letter = v.dead,
                          error = coalesce(v.error, t.error), error_type = CASE WHEN v.error IS NULL THEN t.error_type ELSE 'TaskDispatch.NodeFailureException' END,
                          ended_at = CASE WHEN v.state >= 4 THEN now() ELSE NULL END
                      FROM v WHERE t.cluster = $1 AND t.id = v.id
                      RETURNING t.id, t.submitter, t.awaited, t.state, t.result, t.error, t.error_type),
            ended AS (SELECT * FROM moved WHERE state >= 4)
            SELECT (SELECT count(pg_notify($8, d.payload)) FROM ({EndedPayloads("ended")}) d)::int
            """;
        RecordRecoveries = $"""
            INSERT INTO {s}.recoveries (cluster, task_id, from_node, to_node, reason, last_renewed_at, recovered_at)
            SELECT $1, v.id, v.from_node, v.to_node, v.reason, v.renewed, now()
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS v(id, from_node, to_node, reason, renewed)
            """;

        Find = $"""
            SELECT id, handler, state, node, attempts, recoveries, submitted_at, started_at, ended_at, result, error, error_type, dead_letter
            FROM {s}.tasks WHERE cluster = $1 AND id = $2
            """;
        Cancel = $"""
            WITH waiting AS (UPDATE {s}.tasks SET state = 6, ended_at = now(), cancel_requested = true, error = 'Cancelled by id.'
                             WHERE cluster = $1 AND id = $2 AND state = 0
                             RETURNING id, submitter, awaited, state, result, error, error_type),
            running AS (UPDATE {s}.tasks SET cancel_requested = true WHERE cluster = $1 AND id = $2 AND state = 2 RETURNING id)
            SELECT (SELECT count(*) FROM waiting)::int, (SELECT count(*) FROM running)::int,
                   (SELECT count(pg_notify($3, d.payload)) FROM ({EndedPayloads("waiting")}) d)::int,
                   (SELECT count(pg_notify($4, r.id)) FROM running r)::int
            """;
        EndedById = $"SELECT id, state, result, error, error_type FROM {s}.tasks WHERE cluster = $1 AND id = ANY($2) AND state >= 4";
        FairPass = $"""
            INSERT INTO {s}.fair_keys AS f (cluster, key, pass)
            VALUES ($1, $2, coalesce((SELECT min(pass) FROM {s}.fair_keys WHERE cluster = $1), 0) + $3)
            ON CONFLICT (cluster, key) DO UPDATE SET pass = greatest(f.pass, coalesce((SELECT min(pass) FROM {s}.fair_keys WHERE cluster = $1 AND key <> $2), 0)) + $3
            RETURNING pass - $3
            """;
    }

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
                    WHERE r.awaited AND r.submitter IS NOT NULL) c) e
        GROUP BY e.submitter, e.chunk
        """;

    internal string WorkChannel { get; }

    internal string DoneChannel { get; }

    internal string CancelChannel { get; }

    internal string Insert { get; }

    internal string Notify { get; }

    internal string Lease { get; }

    internal string NextReady { get; }

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

    internal string DeclareDead { get; }

    internal string Orphans { get; }

    internal string ReapNeeded { get; }

    internal string Replace { get; }

    internal string RecordRecoveries { get; }

    internal string Find { get; }

    internal string Cancel { get; }

    internal string EndedById { get; }

    internal string FairPass { get; }
}
