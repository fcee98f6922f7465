using System.Collections.Concurrent;
using System.Diagnostics;

namespace TaskDispatch.Tests.Diagnostics;

[TestFixture]
[CancelAfter(60_000)]
public sealed class TracingTests
{
    [Test]
    public async Task RetriedTask_HasATaskActivityUnderTheSubmitters_WithAnAttemptActivityPerAttempt()
    {
        var name = $"tracing-{Guid.NewGuid():N}";
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name is TaskDispatchTracing.SourceName or "test",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var testSource = new ActivitySource("test");
        await using var dispatcher = new TaskDispatcherBuilder(name)
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 1; o.Delay = TimeSpan.Zero; }))
            .AddNode("n1", static n => n.WithConcurrency(1))
            .Build();
        Activity? currentInWork = null;

        TaskHandle<int> handle;
        string submitterTraceId;
        string submitterSpanId;
        using (var submitter = testSource.StartActivity("submit"))
        {
            submitterTraceId = submitter!.TraceId.ToString();
            submitterSpanId = submitter.SpanId.ToString();
            handle = await dispatcher.SubmitAsync(context =>
            {
                if (context.Attempt == 1)
                {
                    throw new IOException("transient");
                }

                currentInWork = Activity.Current;
                return ValueTask.FromResult(7);
            }, new TaskOptions { Id = $"{name}-task", Kind = "report" });
            Assert.That(Activity.Current, Is.SameAs(submitter), "submitting does not change the submitter's current activity");
        }

        Assert.That(await handle, Is.EqualTo(7));
        await dispatcher.StopAsync();

        var mine = stopped.Where(a => Equals(a.GetTagItem(TaskDispatchTracing.TaskIdTag), $"{name}-task")).ToArray();
        var task = mine.Single(static a => a.OperationName == TaskDispatchTracing.TaskActivityName);
        var attempts = mine.Where(static a => a.OperationName == TaskDispatchTracing.AttemptActivityName)
            .OrderBy(static a => (int)a.GetTagItem(TaskDispatchTracing.AttemptTag)!).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(task.TraceId.ToString(), Is.EqualTo(submitterTraceId), "the trace crosses the queue");
            Assert.That(task.ParentSpanId.ToString(), Is.EqualTo(submitterSpanId));
            Assert.That(task.DisplayName, Is.EqualTo("task report"));
            Assert.That(task.GetTagItem(TaskDispatchMetrics.OutcomeTag), Is.EqualTo("completed"));
            Assert.That(task.GetTagItem(TaskDispatchMetrics.DispatcherTag), Is.EqualTo(name));
            Assert.That(attempts, Has.Length.EqualTo(2));
            Assert.That(attempts.Select(a => a.ParentSpanId), Is.All.EqualTo(task.SpanId));
            Assert.That(attempts[0].GetTagItem(TaskDispatchMetrics.OutcomeTag), Is.EqualTo("failed"));
            Assert.That(attempts[0].Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(attempts[0].GetTagItem(TaskDispatchTracing.RecoveryTag), Is.EqualTo($"retry after {TimeSpan.Zero}"));
            Assert.That(attempts[1].GetTagItem(TaskDispatchMetrics.OutcomeTag), Is.EqualTo("completed"));
            Assert.That(attempts[1].GetTagItem(TaskDispatchMetrics.NodeTag), Is.EqualTo("n1"));
            Assert.That((string?)attempts[1].GetTagItem(TaskDispatchTracing.PlacementTag), Does.Contain("chose n1"));
            Assert.That(currentInWork?.SpanId, Is.EqualTo(attempts[1].SpanId), "the work runs under its attempt's activity");
        });
    }

    [Test]
    public async Task WithoutListeners_NoActivityIsCreated()
    {
        await using var dispatcher = new TaskDispatcherBuilder($"untraced-{Guid.NewGuid():N}").Build();
        Activity? currentInWork = null;

        var handle = await dispatcher.SubmitAsync(_ =>
        {
            currentInWork = Activity.Current;
            return ValueTask.CompletedTask;
        });
        await handle;

        Assert.That(handle.TraceActivity, Is.Null);
        Assert.That(currentInWork, Is.Null);
    }
}
