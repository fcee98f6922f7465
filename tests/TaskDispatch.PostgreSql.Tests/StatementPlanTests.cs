using System.Text.RegularExpressions;
using Npgsql;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>The statements that write a batch of task rows reach each row by its key, whatever statistics the planner
/// has. Found the hard way: statistics taken while hardly any task was leased made the planner expect one leased row,
/// and an acknowledgement of 1,000 tasks compared the batch with every leased row of the table (19 million comparisons,
/// 2.5-4 s). Its backlog outlived the leases, and every later delivery of those tasks was refused.</summary>
[TestFixture(true, TestName = "{m} (statistics taken while nothing was leased)")]
[TestFixture(false, TestName = "{m} (no statistics yet)")]
[CancelAfter(120_000)]
public sealed class StatementPlanTests(bool analyzed)
{
    private const int Rows = 30_000;
    private const int Leased = 10_000;
    private const int Batch = 1_000;
    private const long Token = 7;

    private string _schema = null!;
    private NpgsqlDataSource _dataSource = null!;
    private ClusterSql _sql = null!;
    private string[] _ids = null!;

    [OneTimeSetUp]
    public async Task TableAnalyzedWhileNothingWasLeasedThenManyLeased()
    {
        _schema = PostgresServer.NewSchema();
        _dataSource = NpgsqlDataSource.Create(PostgresServer.ConnectionString);
        await ClusterSchema.MigrateAsync(_dataSource, _schema, CancellationToken.None);
        _sql = new ClusterSql(_schema, "plans");

        await PostgresServer.ExecuteAsync($"""
            ALTER TABLE {_schema}.tasks SET (autovacuum_enabled = false);
            INSERT INTO {_schema}.tasks (cluster, id, handler, input, options, sort_key, state, node, submitter, awaited, submitted_at, ready_at, ended_at, result)
            SELECT 'plans', lpad(g::text, 32, '0'), 'work', g::text, '', 0, {ClusterSchema.Completed}, 'node-1', 'member', true, now(), now(), now(), '1'
            FROM generate_series(1, {Rows}) g;
            {(analyzed ? $"ANALYZE {_schema}.tasks;" : "")}
            UPDATE {_schema}.tasks SET state = {ClusterSchema.Leased}, lease_token = {Token}, lease_expires = now() + interval '1 hour', ended_at = NULL, result = NULL
            WHERE seq > {Rows - Leased};
            """);
        _ids = await LeasedIdsAsync();
        Assert.That(_ids, Has.Length.EqualTo(Batch));
    }

    [OneTimeTearDown]
    public async Task DropSchema()
    {
        await _dataSource.DisposeAsync();
        await ClusterTestKit.DropAsync(_schema);
    }

    [Test]
    public async Task An_acknowledgement_looks_up_each_task_by_its_key()
    {
        var command = ExplainForLeased(_sql.Acknowledge);
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = Enumerable.Repeat(ClusterSchema.Completed, Batch).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = Enumerable.Repeat<string?>("1", Batch).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[Batch] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[Batch] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Enumerable.Repeat("node-1", Batch).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = new bool[Batch] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.DoneChannel });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = Enumerable.Repeat<string?>("member", Batch).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[Batch] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = new int[Batch] });

        await AssertEveryTaskRowFoundByKeyAsync(command);
    }

    [Test]
    public async Task A_renewal_looks_up_each_task_by_its_key()
    {
        var command = ExplainForLeased(_sql.Renew);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(10) });

        await AssertEveryTaskRowFoundByKeyAsync(command);
    }

    [Test]
    public async Task A_release_looks_up_each_task_by_its_key()
    {
        var command = ExplainForLeased(_sql.Release);

        await AssertEveryTaskRowFoundByKeyAsync(command);
    }

    [Test]
    public async Task A_lease_looks_up_each_task_by_its_key()
    {
        var command = Explain(_sql.Lease);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "node-1" });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 160 });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(10) });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "member" });

        await AssertEveryTaskRowFoundByKeyAsync(command);
    }

    [Test]
    public async Task The_reaper_looks_up_each_task_by_its_key()
    {
        // The reaper moves at most a batch of 200; its statement is planned like the others.
        var ids = _ids[..200];
        var command = Explain(_sql.Replace);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = Enumerable.Repeat(ClusterSchema.Waiting, ids.Length).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = Enumerable.Repeat<string?>("node-2", ids.Length).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = new bool[ids.Length] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = new string?[ids.Length] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = Enumerable.Repeat(1, ids.Length).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.DoneChannel });

        await AssertEveryTaskRowFoundByKeyAsync(command);
    }

    [Test]
    public async Task Pruning_walks_the_submission_index_and_never_the_whole_table()
    {
        // The table's tasks were all submitted just now; the walk settings are what makes the difference without
        // statistics (a bitmap of every older task, sorted), so the plan is taken under them, as the pruner runs it.
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var walk = new NpgsqlCommand(_sql.PruneWalk, connection, transaction))
        {
            await walk.ExecuteNonQueryAsync();
        }

        var command = new NpgsqlCommand("EXPLAIN (FORMAT TEXT) " + _sql.Prune, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "plans" });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromHours(1) });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Batch });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = null, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });

        var plan = string.Join('\n', await PlanAsync(command));
        Assert.That(plan, Does.Contain("Index Scan using tasks_submitted on tasks").And.Not.Contain("Seq Scan on tasks").And.Not.Contain("Bitmap").And.Not.Contain("Sort"), plan);
    }

    [Test]
    public async Task The_health_check_reads_the_membership_table_alone()
    {
        // 10,000 tasks are leased here: the load-aware read looks each one up; the health check must not.
        var liveness = Explain(_sql.NodesLiveness);
        liveness.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(10) });
        liveness.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(4) });
        var withLoad = Explain(_sql.Nodes);
        withLoad.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(10) });
        withLoad.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(4) });

        var plan = string.Join('\n', await PlanAsync(liveness));
        var loadPlan = string.Join('\n', await PlanAsync(withLoad));

        Assert.That(plan, Does.Match(@"Scan( using \S+)? on nodes\b").And.Not.Match(@" on (tasks|ready|leases)\b"), plan);
        Assert.That(loadPlan, Does.Match(@" on (tasks|tasks_pkey)\b").And.Match(@" on ready\b"), "the load-aware read still counts the load: " + loadPlan);
    }

    /// <summary>An <c>EXPLAIN</c> of a statement about the leased batch: the cluster, the batch's ids and their token bound
    /// ($1-$3); the caller binds the rest.</summary>
    private NpgsqlCommand ExplainForLeased(string statement)
    {
        var command = Explain(statement);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = _ids });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = Enumerable.Repeat(Token, Batch).ToArray() });
        return command;
    }

    /// <summary>An <c>EXPLAIN</c> of the statement with its cluster parameter bound; the caller binds the rest.</summary>
    private NpgsqlCommand Explain(string statement)
    {
        var command = _dataSource.CreateCommand("EXPLAIN (FORMAT TEXT) " + statement);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "plans" });
        return command;
    }

    /// <summary>Every read of the task table is a lookup of the batch's keys in the primary key (never a scan of the table
    /// or of the cluster's part of the key), and no join compares the batch with task rows one pair at a time: the work
    /// is bounded by the batch, not by the table.</summary>
    private static async Task AssertEveryTaskRowFoundByKeyAsync(NpgsqlCommand command)
    {
        var plan = await PlanAsync(command);

        var text = string.Join('\n', plan);
        var taskReads = plan
            .Select((line, index) => (line, index))
            .Where(entry => Regex.IsMatch(entry.line, @"Scan( using \S+)? on tasks\b|Scan on tasks_pkey\b"))
            .Select(entry => (Node: entry.line, Details: plan.Skip(entry.index + 1).TakeWhile(line => !line.Contains("->", StringComparison.Ordinal)).ToList()))
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(taskReads, Is.Not.Empty, text);
            Assert.That(taskReads.Select(read => read.Node), Has.All.Match(@"(Index Scan using tasks_pkey|Bitmap Heap Scan|Bitmap Index Scan on tasks_pkey)"), text);
            Assert.That(
                taskReads.Where(read => !read.Node.Contains("Bitmap Heap Scan", StringComparison.Ordinal))
                    .Select(read => read.Details.FirstOrDefault(line => line.Contains("Index Cond:", StringComparison.Ordinal)) ?? read.Node),
                Has.All.Match(@"Index Cond: .*\bid = "), text);
            Assert.That(plan, Has.None.Match(@"Join Filter: .*\bid = "), text);
        });
    }

    private async Task<string[]> LeasedIdsAsync()
    {
        await using var command = _dataSource.CreateCommand($"SELECT id FROM {_schema}.tasks WHERE state = {ClusterSchema.Leased} ORDER BY id LIMIT {Batch}");
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return [.. ids];
    }

    /// <summary>Runs an <c>EXPLAIN</c>; returns its lines.</summary>
    private static async Task<List<string>> PlanAsync(NpgsqlCommand command)
    {
        var plan = new List<string>();
        await using (command)
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        return plan;
    }
}
