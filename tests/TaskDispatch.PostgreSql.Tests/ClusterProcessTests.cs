using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>Real processes sharing one server: workers are killed with SIGKILL and paused with SIGSTOP, and what ended,
/// and how often, is counted from the store.</summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(600_000)]
public sealed class ClusterProcessTests
{
    private const int LeaseMs = 4_000;
    private readonly List<ChildProcess> _processes = [];
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public async Task StopEverything()
    {
        var failed = TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed;
        foreach (var child in _processes)
        {
            if (!child.Process.HasExited)
            {
                Signal(child.Process, 18);
                child.Process.Kill();
            }

            await child.Process.WaitForExitAsync();
            if (failed)
            {
                // What each child logged (warnings and up) is the first thing to read when this test fails.
                TestContext.Out.WriteLine($"--- {child.Name} (pid {child.Process.Id}):{Environment.NewLine}{child.Transcript}");
            }

            child.Process.Dispose();
        }

        _processes.Clear();
        await ClusterTestKit.DropAsync(_schema);
    }

    [Test]
    public async Task Twenty_thousand_tasks_end_once_each_when_one_worker_is_killed_and_another_paused_past_its_lease()
    {
        const int Total = 20_000;
        var w1 = await StartWorkerAsync("crash", "w1", 1, 16);
        var w2 = await StartWorkerAsync("crash", "w2", 1, 16);
        await StartWorkerAsync("crash", "w3", 1, 16);
        var submitter = Start("round-robin", "submit", "crash", _schema, Total.ToString(CultureInfo.InvariantCulture), "2");

        // SIGKILL mid-run.
        await WaitForAsync($"SELECT count(*) FROM {_schema}.tasks WHERE state = 4 AND node = 'w1'", count => count >= 1_000, "w1 has completed 1,000 tasks");
        var killedAt = DateTime.SpecifyKind(await PostgresServer.ScalarAsync<DateTime>("SELECT now()"), DateTimeKind.Utc);
        w1.Process.Kill();
        await w1.Process.WaitForExitAsync();

        // SIGSTOP past the lease: the others declare it dead and take its tasks; then it resumes, late.
        await WaitForAsync($"SELECT count(*) FROM {_schema}.tasks WHERE state = 4 AND node = 'w2'", count => count >= 2_000, "w2 has completed 2,000 tasks");
        Signal(w2.Process, 19);
        await WaitForAsync($"SELECT count(*) FROM {_schema}.recoveries WHERE from_node = 'w2'", count => count > 0, "the paused w2's leased tasks were taken back");
        Signal(w2.Process, 18);

        var output = await submitter.OutputAsync().WaitAsync(TimeSpan.FromMinutes(5));
        TestContext.Out.WriteLine(output);
        Assert.That(output, Does.Contain($"done {Total} completed 0 failed"), "the submitter's handles all completed, through NOTIFY");

        var rows = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks");
        var completed = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks WHERE state = 4 AND completions = 1");
        var twice = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks WHERE completions > 1");
        var lateAcks = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.refused_acks WHERE node = 'w2' AND state >= 0");
        var fromKilled = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.recoveries WHERE from_node = 'w1'");
        var resumed = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks t WHERE t.result LIKE '%\"Resumed\":true%' AND t.id IN (SELECT task_id FROM {_schema}.recoveries WHERE from_node = 'w1')");
        var firstRecovery = await PostgresServer.ScalarAsync<DateTime>($"SELECT min(recovered_at) FROM {_schema}.recoveries WHERE from_node = 'w1' AND recovered_at >= '{killedAt:O}'::timestamptz");
        var recovery = firstRecovery - killedAt;
        TestContext.Out.WriteLine($"rows {rows}, completed once {completed}, completed twice {twice}, late acknowledgements refused {lateAcks}, " +
            $"taken from the killed worker {fromKilled} ({resumed} resumed from a checkpoint), recovery after SIGKILL {recovery.TotalMilliseconds:F0} ms (lease {LeaseMs} ms)");

        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(Total), "no task lost");
            Assert.That(completed, Is.EqualTo(Total), "every task completed exactly once");
            Assert.That(twice, Is.Zero, "no task completed twice");
            Assert.That(lateAcks, Is.GreaterThan(0), "the paused worker's late acknowledgements were refused");
            Assert.That(fromKilled, Is.GreaterThan(0), "the killed worker's leased tasks were taken back");
            Assert.That(resumed, Is.GreaterThan(0), "tasks of the killed worker resumed from their checkpoints");
            Assert.That(recovery, Is.LessThan(TimeSpan.FromMilliseconds(2 * LeaseMs)), "recovery within two leases");
        });
    }

    [Test]
    public async Task Weighted_random_across_two_processes_follows_the_weights_and_resource_fit_never_misplaces()
    {
        const int Total = 4_000;
        await StartWorkerAsync("weights", "light", 1, 16, "gpu");
        await StartWorkerAsync("weights", "heavy", 3, 16);
        var weighted = Start("weighted-random", "submit", "weights", _schema, Total.ToString(CultureInfo.InvariantCulture), "0");
        var output = await weighted.OutputAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.That(output, Does.Contain($"done {Total} completed 0 failed"));

        var light = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks WHERE node = 'light' AND state = 4");
        var heavy = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks WHERE node = 'heavy' AND state = 4");
        var chiSquare = (Math.Pow(light - (Total / 4.0), 2) / (Total / 4.0)) + (Math.Pow(heavy - (Total * 3 / 4.0), 2) / (Total * 3 / 4.0));
        TestContext.Out.WriteLine($"weights 1:3 over {Total} tasks: light {light}, heavy {heavy}, chi-square {chiSquare:F3} (critical value 3.841 at 95 %, 1 degree of freedom)");
        Assert.That(light + heavy, Is.EqualTo(Total));
        Assert.That(chiSquare, Is.LessThan(3.841), "the split passes a chi-square test at 95 % against weights 1 and 3");

        // Resource fit: only 'light' has a gpu; nothing demanding one may land on 'heavy'.
        await PostgresServer.ExecuteAsync($"DELETE FROM {_schema}.tasks");
        var fit = Start("resource-fit", "submit", "weights", _schema, "500", "0", "gpu");
        output = await fit.OutputAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.That(output, Does.Contain("done 500 completed 0 failed"));
        var misplaced = await PostgresServer.ScalarAsync<long>($"SELECT count(*) FROM {_schema}.tasks WHERE node <> 'light' OR result NOT LIKE '%\"Node\":\"light\"%'");
        Assert.That(misplaced, Is.Zero, "every task demanding a gpu was placed on, and ran on, the only node that has one");
    }

    private async Task<ChildProcess> StartWorkerAsync(string cluster, string node, double weight, int slots, string? resource = null)
    {
        var arguments = new List<string> { "worker", cluster, _schema, node, weight.ToString(CultureInfo.InvariantCulture), slots.ToString(CultureInfo.InvariantCulture) };
        if (resource is not null)
        {
            arguments.Add(resource);
        }

        var child = Start("round-robin", [.. arguments]);
        var ready = await child.FirstLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.That(ready, Does.StartWith("ready"), $"worker {node} joined");
        return child;
    }

    private ChildProcess Start(string allocation, params string[] arguments)
    {
        // tests/TaskDispatch.PostgreSql.Tests/bin/<Configuration>/net10.0/ -> tests/TaskDispatch.PostgreSql.ClusterChild/bin/<Configuration>/net10.0/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = here.Parent!.Name;
        var tests = here.Parent.Parent!.Parent!.Parent!.FullName;
        var child = Path.Combine(tests, "TaskDispatch.PostgreSql.ClusterChild", "bin", configuration, here.Name, "TaskDispatch.PostgreSql.ClusterChild.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.GetFullPath(child));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["TASKDISPATCH_POSTGRES"] = PostgresServer.ConnectionString;
        info.Environment["TD_LEASE_MS"] = LeaseMs.ToString(CultureInfo.InvariantCulture);
        info.Environment["TD_ALLOCATION"] = allocation;
        var started = new ChildProcess(string.Join(' ', arguments.Take(4)), info);
        _processes.Add(started);
        return started;
    }

    private static void Signal(Process process, int signal)
    {
        if (!process.HasExited)
        {
            _ = Kill(process.Id, signal);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static async Task WaitForAsync(string sql, Func<long, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            if (condition(await PostgresServer.ScalarAsync<long>(sql)))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
