using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class ErgonomicsTests
{
    [Test]
    public async Task A_request_is_submitted_by_its_input_alone_and_runs_its_registered_handler_in_a_scope()
    {
        SquareHandler.Scopes.Clear();
        var services = new ServiceCollection();
        services.AddScoped<ScopeMarker>();
        services.AddTaskHandler<SquareHandler>();
        services.AddTaskDispatch();
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var squared = await dispatcher.SubmitAsync(new Square(12));
        var described = await dispatcher.SubmitAsync(new Describe(7), new TaskOptions { Id = "describe-7" });

        Assert.That(await squared, Is.EqualTo(144L));
        Assert.That(await described, Is.EqualTo("seven"));
        Assert.That(described.Id, Is.EqualTo("describe-7"));
        Assert.That((squared.Kind, described.Kind), Is.EqualTo((typeof(Square).FullName, typeof(Describe).FullName)), "a request's kind is its type");
        Assert.That(SquareHandler.Scopes.Distinct().Count(), Is.EqualTo(2), "one scope per task");
    }

    [Test]
    public async Task A_request_in_a_durable_dispatcher_is_stored_with_its_handler_and_its_own_input()
    {
        // So that a restarted process can run it again: the handler's name and the request as JSON, not an empty object.
        var store = new Support.RecordingTaskStore();
        var services = new ServiceCollection();
        services.AddScoped<ScopeMarker>();
        services.AddTaskHandler<SquareHandler>();
        services.AddTaskDispatch().UseStore(_ => store);
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var squared = await dispatcher.SubmitAsync(new Square(12), new TaskOptions { Id = "square-12" });
        Assert.That(await squared, Is.EqualTo(144L));
        var stored = store.Get("square-12")!;
        Assert.That((stored.Handler, JsonSerializer.Deserialize<Square>(stored.Input)), Is.EqualTo((typeof(SquareHandler).FullName, new Square(12))));
    }

    [Test]
    public async Task A_request_without_a_registered_handler_is_refused_at_the_call_site()
    {
        var services = new ServiceCollection();
        services.AddTaskDispatch();
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.SubmitAsync(new Square(2)));
        Assert.That(error!.Message, Does.Contain("No ITaskHandler<Square, Int64> is registered").And.Contain("AddTaskHandler"));
        Assert.That(() => services.AddTaskHandler<ScopeMarker>(), Throws.ArgumentException.With.Message.Contains("implements no ITaskHandler"));
    }

    [Test]
    public async Task TrySubmit_needs_no_options()
    {
        await using var dispatcher = new TaskDispatcherBuilder("try-submit").Build();
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, out var handle), Is.True);
        Assert.That(dispatcher.TrySubmit(static _ => new ValueTask<int>(5), out var valued), Is.True);
        await handle!;
        Assert.That(await valued!, Is.EqualTo(5));
    }

    [Test]
    public async Task Statistics_and_snapshots_read_as_text_and_states_serialize_by_name()
    {
        await using var dispatcher = new TaskDispatcherBuilder("readable").AddNode("cpu", static node => node.WithConcurrency(2).WithTags("fast")).Build();
        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask)).Completion;

        var statistics = dispatcher.GetStatistics().ToString();
        Assert.That(statistics, Does.StartWith("tasks: 1 accepted, 1 completed, 0 failed, 0 cancelled"));
        Assert.That(statistics, Does.Contain("node cpu: Healthy, 0/2 slots busy"));
        Assert.That(statistics, Does.Contain("0 lost"));
        Assert.That(dispatcher.Nodes[0].ToString(), Is.EqualTo("cpu: Healthy, 0/2 slots busy, weight 1, tags fast"));

        Assert.That(JsonSerializer.Serialize(new { State = TaskState.Completed, Health = NodeHealth.Quarantined, Status = DispatcherStatus.Running }),
            Is.EqualTo("""{"State":"Completed","Health":"Quarantined","Status":"Running"}"""));
        Assert.That(JsonSerializer.Deserialize<TaskState>("\"Failed\""), Is.EqualTo(TaskState.Failed));
        Assert.That(JsonSerializer.Deserialize<TaskState>("4"), Is.EqualTo(TaskState.Completed), "numbers written before still read");
    }

    [Test]
    public async Task A_progress_handler_added_after_the_task_reported_hears_the_latest_report_at_once()
    {
        await using var dispatcher = new TaskDispatcherBuilder("progress-replay").Build();
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            context.ReportProgress(0.25, "a quarter");
            reported.SetResult();
            await finish.Task;
            context.ReportProgress(1, "done");
        });
        await reported.Task;

        var heard = new List<string?>();
        handle.ProgressChanged += (_, progress) =>
        {
            lock (heard)
            {
                heard.Add(progress.Message);
            }
        };
        Assert.That(heard, Is.EqualTo(new[] { "a quarter" }), "replayed on subscription");
        finish.SetResult();
        await handle;
        Assert.That(heard, Is.EqualTo(new[] { "a quarter", "done" }));
    }

    public sealed record Square(int Value) : ITaskRequest<long>;

    public sealed record Describe(int Value) : ITaskRequest<string>;

    public sealed class ScopeMarker;

    public sealed class SquareHandler(ScopeMarker scope) : ITaskHandler<Square, long>, ITaskHandler<Describe, string>
    {
        internal static readonly System.Collections.Concurrent.ConcurrentBag<ScopeMarker> Scopes = [];

        public ValueTask<long> HandleAsync(Square input, TaskContext context)
        {
            Scopes.Add(scope);
            return ValueTask.FromResult((long)input.Value * input.Value);
        }

        public ValueTask<string> HandleAsync(Describe input, TaskContext context)
        {
            Scopes.Add(scope);
            return ValueTask.FromResult(input.Value == 7 ? "seven" : input.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
