using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch.Sqlite.Tests;

/// <summary>The crash test: a child process under steady submission is killed with SIGKILL at random points, several
/// times, and restarted each time; then the store and the child's logs are counted.</summary>
[TestFixture]
[CancelAfter(600_000)]
public sealed class CrashTests
{
    private const int Total = 10_000;
    private const int Kills = 6;

    [Test]
    public async Task SigKill_DuringSteadySubmission_LosesNothingAcknowledged_AndEndsEachTaskOnce()
    {
        var directory = Directory.CreateTempSubdirectory("taskdispatch-crash-").FullName;
        var random = new Random(20261201);
        try
        {
            for (var kill = 0; kill < Kills; kill++)
            {
                var before = AcknowledgedIds(directory).Count;
                using var child = StartChild(directory, finish: false);
                await WaitForStartAsync(child);

                // Killed at a random point: while it submits, after a random number of further acknowledgements; once
                // everything is acknowledged, after a random time while it runs what it had accepted.
                var target = Math.Min(Total, before + random.Next(800, 1_800));
                while (AcknowledgedIds(directory).Count < target && !child.HasExited)
                {
                    await Task.Delay(5);
                }

                await Task.Delay(random.Next(0, before >= Total ? 400 : 60));
                child.Kill();
                await child.WaitForExitAsync();
                TestContext.Out.WriteLine($"kill {kill + 1}: {AcknowledgedIds(directory).Count} acknowledged so far");
            }

            using (var last = StartChild(directory, finish: true))
            {
                await WaitForStartAsync(last);
                await last.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
                Assert.That(last.ExitCode, Is.Zero);
            }

            var acknowledged = AcknowledgedIds(directory);
            var rows = ReadTasks(Path.Combine(directory, "tasks.db"));
            var runs = File.ReadLines(Path.Combine(directory, "runs.log")).Where(static line => line.Length > 0)
                .Select(static line => line.Split(' ')[0]).GroupBy(static id => id).ToDictionary(static g => g.Key, static g => g.Count());

            Assert.That(acknowledged, Has.Count.EqualTo(Total), "the children acknowledged every task between them");
            var missing = acknowledged.Where(id => !rows.ContainsKey(id)).ToList();
            Assert.That(missing, Is.Empty, "every acknowledged task is in the store");
            var notCompleted = acknowledged.Where(id => rows[id].State != (int)TaskState.Completed).ToList();
            Assert.That(notCompleted, Is.Empty, "every acknowledged task ended Completed, once (one row per id, one terminal state)");
            var neverRan = acknowledged.Where(id => !runs.ContainsKey(id)).ToList();
            Assert.That(neverRan, Is.Empty, "every acknowledged task's handler ran");

            // A handler runs twice only where its attempt was running at a kill: the store then counts the interrupted
            // attempt, so such a task has more than one attempt, and there can be at most a few per kill.
            var ranTwice = runs.Where(static pair => pair.Value > 1).ToList();
            var withoutInterruptedAttempt = ranTwice.Where(pair => rows.TryGetValue(pair.Key, out var row) && row.Attempts < pair.Value).ToList();
            TestContext.Out.WriteLine($"{acknowledged.Count} acknowledged, {rows.Count} stored, {Kills} kills; handlers that ran more than once: {ranTwice.Count} ({string.Join(", ", ranTwice.Take(20).Select(static p => $"{p.Key}×{p.Value}"))})");
            Assert.That(withoutInterruptedAttempt, Is.Empty, "a task whose handler ran again has the interrupted attempt counted");
            Assert.That(ranTwice.Count, Is.LessThanOrEqualTo(Kills * 8), "runs again only what was in flight at the kills (4 slots, plus ends not yet committed)");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task FileHeldByAnotherProcess_IsAClearErrorAtBuild_AndFreeOnceThatProcessIsKilled()
    {
        var directory = Directory.CreateTempSubdirectory("taskdispatch-locked-").FullName;
        try
        {
            using (var owner = StartChild(directory, finish: false))
            {
                await WaitForStartAsync(owner);
                while (AcknowledgedIds(directory).Count == 0)
                {
                    await Task.Delay(5);
                }

                var builder = new TaskDispatcherBuilder().UseSqliteStore(Path.Combine(directory, "tasks.db"));
                var error = Assert.Throws<TaskStoreException>(() => builder.Build());
                Assert.That(error!.Message, Does.Contain("in use by another store"));
                owner.Kill();
                await owner.WaitForExitAsync();
            }

            // The operating system released the dead process's lock: the file opens.
            await using var next = new TaskDispatcherBuilder()
                .UseServiceProvider(new ServiceCollection().BuildServiceProvider())
                .UseSqliteStore(Path.Combine(directory, "tasks.db"))
                .AddHandler<UnusedHandler, int, int>("TaskDispatch.Sqlite.CrashChild.RecordingHandler")
                .Build();
            var acknowledged = AcknowledgedIds(directory).First();
            Assert.That(await next.FindAsync(acknowledged), Is.Not.Null, "the task the killed process acknowledged is in the file this process opened");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task ReadOnlyFile_IsAClearErrorAtBuild()
    {
        var directory = Directory.CreateTempSubdirectory("taskdispatch-readonly-").FullName;
        var database = Path.Combine(directory, "tasks.db");
        try
        {
            await using (var store = new SqliteTaskStore(database))
            {
                await store.OpenAsync(TimeSpan.FromHours(1), 0, CancellationToken.None);
            }

            foreach (var file in Directory.GetFiles(directory))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

            // File modes do not stop root, so as root the child runs as nobody, to whom they apply.
            var start = Environment.UserName == "root" ? new ProcessStartInfo("runuser") : new ProcessStartInfo("dotnet");
            if (Environment.UserName == "root")
            {
                foreach (var argument in new[] { "-u", "nobody", "--", "dotnet" })
                {
                    start.ArgumentList.Add(argument);
                }
            }

            start.ArgumentList.Add(ChildPath());
            start.ArgumentList.Add(directory);
            start.ArgumentList.Add("open");
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
            using var child = Process.Start(start)!;
            var output = await child.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(1));
            var errors = await child.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(1));
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

            Assert.That(output, Does.StartWith("store error:").And.Contain("read-only"), $"the child said: {output}{errors}");
        }
        finally
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Process StartChild(string directory, bool finish)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ChildPath());
        start.ArgumentList.Add(directory);
        start.ArgumentList.Add(Total.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (finish)
        {
            start.ArgumentList.Add("finish");
        }

        var child = Process.Start(start)!;
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 })
            {
                TestContext.Out.WriteLine($"child: {e.Data}");
            }
        };
        child.BeginErrorReadLine();
        return child;
    }

    private static async Task WaitForStartAsync(Process child)
    {
        var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.That(line, Does.StartWith("started"), "the child opened its store");
        TestContext.Out.WriteLine(line);
        _ = child.StandardOutput.ReadToEndAsync();
    }

    private static string ChildPath()
    {
        // tests/TaskDispatch.Sqlite.Tests/bin/<Configuration>/net10.0/ → tests/TaskDispatch.Sqlite.CrashChild/bin/<Configuration>/net10.0/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = here.Parent!.Name;
        var tests = here.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(tests, "TaskDispatch.Sqlite.CrashChild", "bin", configuration, here.Name, "TaskDispatch.Sqlite.CrashChild.dll");
        Assert.That(File.Exists(path), Is.True, $"the crash child is built at {path}");
        return path;
    }

    private static HashSet<string> AcknowledgedIds(string directory)
    {
        var path = Path.Combine(directory, "ack.log");
        return File.Exists(path) ? [.. File.ReadLines(path).Where(static line => line.Length > 0)] : [];
    }

    private static Dictionary<string, (int State, int Attempts)> ReadTasks(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, COALESCE(state, -1), attempts FROM tasks;";
        using var row = command.ExecuteReader();
        var rows = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        while (row.Read())
        {
            rows.Add(row.GetString(0), (row.GetInt32(1), row.GetInt32(2)));
        }

        return rows;
    }

    /// <summary>Stands in for the child's handler, so that the tasks the killed child left can be replayed here.</summary>
    public sealed class UnusedHandler : ITaskHandler<int, int>
    {
        public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input);
    }
}
