using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Sqlite.Tests;

/// <summary>The SQLite store with a real file: what a restart finds, group commit, checkpoints, and the clear errors of
/// bad files. Crashes by SIGKILL are proven in a child process by <c>eng/crash-test.sh</c>.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class SqliteTaskStoreTests
{
    private string _directory = null!;

    private string DatabasePath => Path.Combine(_directory, "tasks.db");

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("taskdispatch-sqlite-").FullName;

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task Outcome_OutlivesTheProcess_AndItsIdIsNotRunAgain()
    {
        var log = new WorkLog();
        await using (var first = Build(log))
        {
            var handle = await first.SubmitAsync<Greeter, Greeting, string>(new Greeting("Ada", 2), new TaskOptions { Id = "greet-ada" });
            Assert.That(await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo("Hello, Ada! Hello, Ada!"));
        }

        await using var second = Build(log);
        Assert.That(second.TryGetHandle("greet-ada", out var found), Is.True);
        Assert.That(found!.State, Is.EqualTo(TaskState.Completed));
        Assert.That(await (TaskHandle<string>)found, Is.EqualTo("Hello, Ada! Hello, Ada!"));
        Assert.That(found.StartedAt, Is.Not.Null);
        Assert.That(found.EndedAt, Is.Not.Null);

        var again = await second.SubmitAsync<Greeter, Greeting, string>(new Greeting("Ada", 2), new TaskOptions { Id = "greet-ada" });
        Assert.That(again, Is.SameAs(found));
        Assert.That(log.Names, Is.EqualTo(new[] { "Ada" }));
    }

    [Test]
    public async Task Stop_LeavesWhatItCancelledUnfinished_AndTheNextStartRunsItFromItsCheckpoint()
    {
        var log = new WorkLog();
        await using (var first = Build(log, concurrency: 1))
        {
            var running = await first.SubmitAsync<Stepper, int, int>(10, new TaskOptions { Id = "long" });
            var waiting = await first.SubmitAsync<Greeter, Greeting, string>(new Greeting("Grace", 1), new TaskOptions { Id = "queued" });
            await log.Started.Task.WaitAsync(TestTimeouts.Generous);
            await first.StopAsync(ShutdownMode.Cancel, TimeSpan.FromSeconds(5));
            Assert.That(running.State, Is.EqualTo(TaskState.Cancelled));
            Assert.That(waiting.State, Is.EqualTo(TaskState.Cancelled));
        }

        log.Release.TrySetResult();
        await using var second = Build(log, concurrency: 1);
        Assert.That(second.TryGetHandle("long", out var resumed), Is.True);
        Assert.That(await ((TaskHandle<int>)resumed!).AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(10));
        Assert.That(resumed.Attempts, Is.EqualTo(2), "the stopped attempt counts as started");
        Assert.That(resumed.AttemptFailures, Is.Empty, "a graceful stop spends no retry: the stopped attempt is no failure");
        Assert.That(log.ResumedFrom, Is.EqualTo(new[] { 0, 5 }), "the second attempt resumed from the first one's checkpoint");
        Assert.That(second.TryGetHandle("queued", out var queued), Is.True);
        Assert.That(await ((TaskHandle<string>)queued!).AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo("Hello, Grace!"));
    }

    [Test]
    public async Task Restart_KeepsTheErrorsOfEarlierAttempts_OfATaskThatHadNotEnded()
    {
        var log = new WorkLog();
        await using (var first = Build(log, concurrency: 1))
        {
            await first.SubmitAsync<FailsOnceThenWaits, int, int>(7, new TaskOptions { Id = "flaky" });
            await log.Started.Task.WaitAsync(TestTimeouts.Generous);
            await first.StopAsync(ShutdownMode.Cancel, TimeSpan.FromSeconds(5));
        }

        log.Release.TrySetResult();
        await using var second = Build(log, concurrency: 1);
        Assert.That(second.TryGetHandle("flaky", out var replayed), Is.True);
        Assert.That(await ((TaskHandle<int>)replayed!).AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo(7));
        var failures = replayed.AttemptFailures;
        Assert.That(failures.Select(static f => f.Attempt), Is.EqualTo(new[] { 1 }), "the second attempt, stopped gracefully, is no failure");
        Assert.That(failures[0].Exception.Message, Is.EqualTo("first attempt fails"), "the first attempt's error survived the restart");
        Assert.That(replayed.Attempts, Is.EqualTo(3), "attempts go on counting: 1 failed, 2 stopped, 3 ran");
    }

    [Test]
    public async Task FailedTask_IsADeadLetterAfterARestart_AndResubmitting_RunsIt()
    {
        var log = new WorkLog { FailNames = { "Bob" } };
        await using (var first = Build(log, retries: 0))
        {
            var handle = await first.SubmitAsync<Greeter, Greeting, string>(new Greeting("Bob", 1), new TaskOptions { Id = "bob" });
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous));
        }

        log.FailNames.Clear();
        await using var second = Build(log, retries: 0);
        Assert.That(second.DeadLetters.TryGet("bob", out var dead), Is.True);
        Assert.That(dead!.Exception, Is.TypeOf<RecordedTaskException>().With.Message.EqualTo("no greeting for Bob"));
        Assert.That(dead.AttemptFailures, Has.Count.EqualTo(1), "each attempt's error is kept");
        Assert.That(dead.AttemptFailures[0].Exception.Message, Is.EqualTo("no greeting for Bob"));
        Assert.That(((RecordedTaskException)dead.AttemptFailures[0].Exception).ErrorType, Is.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(dead.AttemptFailures[0].NodeName, Is.EqualTo("local"));

        var resubmitted = (TaskHandle<string>)await second.DeadLetters.ResubmitAsync("bob");
        Assert.That(await resubmitted.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous), Is.EqualTo("Hello, Bob!"));
    }

    [Test]
    public async Task ConcurrentSubmitters_ShareCommits_AndEveryTaskEndsOnceInTheFile()
    {
        var log = new WorkLog();
        var store = new SqliteTaskStore(DatabasePath);
        await using (var dispatcher = Build(log, store: store))
        {
            var handles = new ConcurrentBag<TaskHandle<string>>();
            await Parallel.ForEachAsync(Enumerable.Range(0, 800), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
                handles.Add(await dispatcher.SubmitAsync<Greeter, Greeting, string>(new Greeting($"n{i}", 1), null, token)));
            foreach (var handle in handles)
            {
                await handle.AsValueTask().AsTask().WaitAsync(TestTimeouts.Generous);
            }

            Assert.That(store.Commits, Is.LessThan(1600), "800 adds and 800 ends took fewer commits than writes");
        }

        using var connection = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), SUM(state = 4), SUM(attempts) FROM tasks;";
        using var row = command.ExecuteReader();
        Assert.That(row.Read(), Is.True);
        Assert.That(row.GetInt64(0), Is.EqualTo(800));
        Assert.That(row.GetInt64(1), Is.EqualTo(800), "every task is Completed in the file");
        Assert.That(row.GetInt64(2), Is.EqualTo(800), "one attempt each");
        Assert.That(log.Names, Has.Count.EqualTo(800));
    }

    [Test]
    public async Task SubmitManyAsync_WritesABatchInFewCommits()
    {
        var log = new WorkLog();
        var store = new SqliteTaskStore(DatabasePath);
        await using var dispatcher = Build(log, store: store);
        await dispatcher.SubmitManyAsync<Greeter, Greeting, string>([new Greeting("warm-up", 1)]);
        var before = store.Commits;

        var handles = await dispatcher.SubmitManyAsync<Greeter, Greeting, string>(
            Enumerable.Range(0, 2_000).Select(static i => new Greeting($"n{i}", 1)),
            new TaskOptions { Delay = TimeSpan.FromHours(1) });

        Assert.That(handles, Has.Count.EqualTo(2_000));
        Assert.That(store.Commits - before, Is.LessThan(100), "2,000 submissions shared commits");
        Assert.That(handles.Select(static h => h.State), Is.All.EqualTo(TaskState.Pending));
    }

    [Test]
    public async Task WritesAboutAnEarlierTaskWithTheSameId_NeverTouchTheLaterOne()
    {
        await using var store = new SqliteTaskStore(DatabasePath);
        await store.OpenAsync(TimeSpan.FromHours(1), 10, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        await store.AddAsync(new StoredTask { Id = "x", SequenceNumber = 2, Handler = "h", Input = "1", Options = "{}", SubmittedAt = now, ReadyAt = now }, CancellationToken.None);

        // The late start and end of submission 1 of "x" (resubmitted since as submission 2).
        await store.AttemptStartedAsync("x", 1, attempt: 3, "old-node", now, [], CancellationToken.None);
        await store.EndAsync(new TaskOutcome { TaskId = "x", SequenceNumber = 1, State = TaskState.Completed, EndedAt = now }, CancellationToken.None);
        var live = await store.FindAsync("x", CancellationToken.None);
        Assert.That(live!.Outcome, Is.Null, "the later submission has not ended");
        Assert.That(live.Attempts, Is.Zero);

        await store.EndAsync(new TaskOutcome { TaskId = "x", SequenceNumber = 2, State = TaskState.Failed, ErrorMessage = "its own end", EndedAt = now }, CancellationToken.None);
        Assert.That((await store.FindAsync("x", CancellationToken.None))!.Outcome!.ErrorMessage, Is.EqualTo("its own end"));
    }

    [Test]
    public void MissingDirectory_IsAClearErrorAtBuild()
    {
        var path = Path.Combine(_directory, "no-such-dir", "tasks.db");
        var error = Assert.Throws<TaskStoreException>(() => Build(new WorkLog(), path: path));
        Assert.That(error!.Message, Does.Contain("does not exist").And.Contain("no-such-dir"));
    }

    [Test]
    public void CorruptFile_IsAClearErrorAtBuild()
    {
        File.WriteAllText(DatabasePath, new string('x', 8192));
        var error = Assert.Throws<TaskStoreException>(() => Build(new WorkLog()));
        Assert.That(error!.Message, Does.Contain("corrupt or is not a SQLite database").And.Contain(DatabasePath));
    }

    [Test]
    public async Task FileInUseByAnotherStore_IsAClearErrorAtBuild()
    {
        await using var owner = Build(new WorkLog());
        var error = Assert.Throws<TaskStoreException>(() => Build(new WorkLog()));
        Assert.That(error!.Message, Does.Contain("in use by another store"));
    }

    [Test]
    public void SchemaOfANewerVersion_IsRefused()
    {
        using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99;";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<TaskStoreException>(() => Build(new WorkLog()));
        Assert.That(error!.Message, Does.Contain("schema version 99").And.Contain("newer"));
    }

    [Test]
    public async Task FullDisk_FailsTheSubmissionClearly_AndKeepsWhatWasAcknowledged()
    {
        var log = new WorkLog();
        var store = new SqliteTaskStore(DatabasePath, new SqliteTaskStoreOptions { MaxPageCount = 40, Synchronous = SqliteSynchronous.Normal });
        var acknowledged = new List<string>();
        await using (var dispatcher = Build(log, store: store))
        {
            TaskStoreException? full = null;
            for (var i = 0; i < 10_000 && full is null; i++)
            {
                try
                {
                    var id = $"filler-{i}";
                    await dispatcher.SubmitAsync<Greeter, Greeting, string>(new Greeting(new string('z', 200), 1), new TaskOptions { Id = id, NotBefore = DateTimeOffset.UtcNow.AddHours(1) });
                    acknowledged.Add(id);
                }
                catch (TaskStoreException exception)
                {
                    full = exception;
                }
            }

            Assert.That(full, Is.Not.Null, "the capped file filled up");
            Assert.That(full!.Message, Does.Contain("disk is full"));
            Assert.That(acknowledged, Is.Not.Empty);
        }

        await using var reopened = Build(log);
        foreach (var id in acknowledged)
        {
            Assert.That(reopened.TryGetHandle(id, out var handle) && handle.State == TaskState.Pending, Is.True, $"{id} was acknowledged and must still wait");
        }
    }

    private TaskDispatcher Build(WorkLog log, int concurrency = 2, int retries = 3, string? path = null, SqliteTaskStore? store = null)
    {
        var services = new ServiceCollection().AddSingleton(log).BuildServiceProvider();
        var builder = new TaskDispatcherBuilder()
            .UseServiceProvider(services)
            .UseRecovery(RecoveryPolicy.Retry(options => options.MaxRetryAttempts = retries))
            .AddNode("local", node => node.WithConcurrency(concurrency));
        return (store is null ? builder.UseSqliteStore(path ?? DatabasePath) : builder.UseStore(store)).Build();
    }

    /// <summary>A handler's input.</summary>
    public sealed record Greeting(string Name, int Times);

    /// <summary>What the handlers of one test did.</summary>
    public sealed class WorkLog
    {
        private readonly ConcurrentQueue<string> _names = new();
        private readonly ConcurrentQueue<int> _resumedFrom = new();

        public IReadOnlyCollection<string> Names => _names.ToArray();

        public IReadOnlyCollection<int> ResumedFrom => _resumedFrom.ToArray();

        public HashSet<string> FailNames { get; } = [];

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Greeted(string name) => _names.Enqueue(name);

        public void Resumed(int from) => _resumedFrom.Enqueue(from);
    }

    /// <summary>Greets by name; fails for the names it is told to.</summary>
    public sealed class Greeter(WorkLog log) : ITaskHandler<Greeting, string>
    {
        public ValueTask<string> HandleAsync(Greeting input, TaskContext context)
        {
            log.Greeted(input.Name);
            return log.FailNames.Contains(input.Name)
                ? throw new InvalidOperationException($"no greeting for {input.Name}")
                : ValueTask.FromResult(string.Join(' ', Enumerable.Repeat($"Hello, {input.Name}!", input.Times)));
        }
    }

    /// <summary>Fails its first attempt; the second waits to be released.</summary>
    public sealed class FailsOnceThenWaits(WorkLog log) : ITaskHandler<int, int>
    {
        public async ValueTask<int> HandleAsync(int input, TaskContext context)
        {
            if (context.Attempt == 1)
            {
                throw new InvalidOperationException("first attempt fails");
            }

            log.Started.TrySetResult();
            await log.Release.Task.WaitAsync(context.CancellationToken);
            return input;
        }
    }

    /// <summary>Counts to its input, saving a checkpoint half way; the first attempt then waits to be released.</summary>
    public sealed class Stepper(WorkLog log) : ITaskHandler<int, int>
    {
        public async ValueTask<int> HandleAsync(int input, TaskContext context)
        {
            var from = await context.LoadCheckpointAsync<int>();
            log.Resumed(from);
            if (from == 0)
            {
                await context.SaveCheckpointAsync(input / 2);
                log.Started.TrySetResult();
                await log.Release.Task.WaitAsync(context.CancellationToken);
            }

            return input;
        }
    }
}
