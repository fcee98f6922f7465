using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Diagnostics;

[TestFixture]
[CancelAfter(60_000)]
public sealed class MetricsTests
{
    [Test]
    public async Task DeterministicWorkload_InstrumentsAndSnapshot_MeasureWaitingResponseAndProcessingTime()
    {
        // One slot: task a runs 2 s, task b (submitted with a) waits 2 s and runs 1 s; c is cancelled while waiting.
        var name = $"metrics-{Guid.NewGuid():N}";
        using var collector = new MeterCollector(name);
        var time = new FakeTimeProvider();
        var work = new TimedWork();
        var dispatcher = new TaskDispatcherBuilder(name)
            .UseTimeProvider(time)
            .AddNode("only", static n => n.WithConcurrency(1))
            .Build();

        var a = await dispatcher.SubmitAsync(work.For("a", TimeSpan.FromSeconds(2)));
        var b = await dispatcher.SubmitAsync(work.For("b", TimeSpan.FromSeconds(1)));
        var c = await dispatcher.SubmitAsync(work.For("c", TimeSpan.FromSeconds(1)), new TaskOptions { Delay = TimeSpan.FromMinutes(1) });
        collector.Observe();
        c.Cancel();
        await work.DriveAsync(time, 2);
        await a;
        await b;
        collector.Observe();

        var statistics = dispatcher.GetStatistics();
        await dispatcher.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(statistics.WaitingTime.Count, Is.EqualTo(2));
            Assert.That(statistics.WaitingTime.Average, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(statistics.WaitingTime.Max, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(statistics.WaitingTime.P50, Is.EqualTo(TimeSpan.Zero), "a did not wait");
            Assert.That(statistics.WaitingTime.P99.TotalSeconds, Is.EqualTo(2).Within(0.03), "b waited 2 s");
            Assert.That(statistics.ProcessingTime.Count, Is.EqualTo(2));
            Assert.That(statistics.ProcessingTime.Average, Is.EqualTo(TimeSpan.FromSeconds(1.5)));
            Assert.That(statistics.ResponseTime.Count, Is.EqualTo(3), "a, b and the cancelled c");
            Assert.That(statistics.ResponseTime.Max, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(statistics.AllocationTime.Count, Is.EqualTo(2));
            Assert.That(statistics.TasksAccepted, Is.EqualTo(3));
            Assert.That(statistics.TasksCompleted, Is.EqualTo(2));
            Assert.That(statistics.TasksCancelled, Is.EqualTo(1));
            Assert.That(statistics.WaitingTasks, Is.Zero);

            Assert.That(collector.Of(TaskDispatchMetrics.WaitDuration).Select(static m => m.Value), Is.EqualTo(new[] { 0.0, 2.0 }));
            Assert.That(collector.Of(TaskDispatchMetrics.WaitDuration).Select(static m => m.Tags[TaskDispatchMetrics.SchedulingPolicyTag]),
                Is.All.EqualTo(nameof(FirstComeFirstServedPolicy)));
            Assert.That(collector.Of(TaskDispatchMetrics.AttemptDuration).Select(static m => m.Value), Is.EqualTo(new[] { 2.0, 1.0 }));
            Assert.That(collector.Of(TaskDispatchMetrics.AttemptDuration).Select(static m => m.Tags[TaskDispatchMetrics.NodeTag]), Is.All.EqualTo("only"));
            Assert.That(collector.Of(TaskDispatchMetrics.ResponseDuration).Select(static m => (m.Value, m.Tags[TaskDispatchMetrics.OutcomeTag])),
                Is.EquivalentTo(new[] { (0.0, (object?)"cancelled"), (2.0, "completed"), (3.0, "completed") }));
            Assert.That(collector.Of(TaskDispatchMetrics.AllocationDuration).Count(), Is.EqualTo(2));
            Assert.That(collector.Sum(TaskDispatchMetrics.TasksSubmitted), Is.EqualTo(3));
            Assert.That(collector.Sum(TaskDispatchMetrics.AttemptsStarted), Is.EqualTo(2));
            Assert.That(collector.Of(TaskDispatchMetrics.TasksFinished).GroupBy(static m => m.Tags[TaskDispatchMetrics.OutcomeTag]).ToDictionary(static g => g.Key!, static g => g.Sum(static m => m.Value)),
                Is.EquivalentTo(new Dictionary<object, double> { ["completed"] = 2, ["cancelled"] = 1 }));

            // Observed right after submitting: a running (one slot in use), b queued and c delayed (two waiting).
            var firstQueue = collector.Of(TaskDispatchMetrics.QueueLength).First().Value;
            var firstSlots = collector.Of(TaskDispatchMetrics.SlotsInUse).First();
            Assert.That(firstQueue, Is.EqualTo(2));
            Assert.That(firstSlots.Value, Is.EqualTo(1));
            Assert.That(firstSlots.Tags[TaskDispatchMetrics.NodeTag], Is.EqualTo("only"));
            Assert.That(collector.Of(TaskDispatchMetrics.NodeUtilization).Last().Value, Is.EqualTo(1.0).Within(1e-9), "busy 3 s of 3 s");
        });
    }

    [Test]
    public async Task Rejections_AreCounted()
    {
        var name = $"rejections-{Guid.NewGuid():N}";
        using var collector = new MeterCollector(name);
        await using var dispatcher = new TaskDispatcherBuilder(name)
            .Configure(static o =>
            {
                o.MaxPendingTasks = 1;
                o.FullMode = QueueFullMode.Reject;
                o.ShutdownMode = ShutdownMode.Cancel;
            })
            .Build();

        _ = await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask, new TaskOptions { Delay = TimeSpan.FromHours(1) });
        await Assert.ThrowsAsync<TaskRejectedException>(async () => await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask));
        Assert.That(dispatcher.TrySubmit(static _ => ValueTask.CompletedTask, null, out _), Is.False);

        Assert.That(collector.Sum(TaskDispatchMetrics.TasksRejected), Is.EqualTo(2));
        Assert.That(collector.Sum(TaskDispatchMetrics.TasksSubmitted), Is.EqualTo(1));
    }

    [Test]
    public void EveryHistogram_CarriesBucketAdviceFromMicrosecondsToMinutes()
    {
        // The instruments exist once any dispatcher was built; this test may run first, alone.
        _ = TaskDispatchInstruments.Shared;
        var histograms = new List<Histogram<double>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == TaskDispatchMetrics.MeterName && instrument is Histogram<double> histogram)
                {
                    lock (histograms)
                    {
                        histograms.Add(histogram);
                    }
                }
            },
        };
        listener.Start();

        Assert.That(histograms.Select(histogram => histogram.Name).Distinct(), Is.SupersetOf(new[]
        {
            TaskDispatchMetrics.WaitDuration, TaskDispatchMetrics.ResponseDuration, TaskDispatchMetrics.AttemptDuration,
            TaskDispatchMetrics.AllocationDuration, TaskDispatchMetrics.RestartDelay, TaskDispatchMetrics.RecoveryDuration,
        }));
        foreach (var histogram in histograms)
        {
            var buckets = histogram.Advice?.HistogramBucketBoundaries;
            Assert.That(buckets, Is.Not.Null, histogram.Name);
            Assert.That(buckets![0], Is.LessThanOrEqualTo(0.00001), histogram.Name);
            Assert.That(buckets[^1], Is.GreaterThanOrEqualTo(600), histogram.Name);
            Assert.That(buckets.Count(bound => bound > 0.001 && bound <= 0.05), Is.GreaterThanOrEqualTo(4), $"{histogram.Name}: 1 to 50 ms spans several buckets");
        }
    }

    [Test]
    public async Task Failures_CarryErrorType_AndOnlyTheDispatchersOwnTimeoutsCountAsTimeouts()
    {
        var name = $"errors-{Guid.NewGuid():N}";
        using var collector = new MeterCollector(name);
        await using var dispatcher = new TaskDispatcherBuilder(name)
            .UseRecovery(RecoveryPolicy.Retry(static retry => retry.MaxRetryAttempts = 0))
            .AddNode("n", static node => node.WithConcurrency(2))
            .Build();

        var userTimeout = await dispatcher.SubmitAsync(static _ => throw new TimeoutException("the user's own"));
        var dispatcherTimeout = await dispatcher.SubmitAsync(static context => new ValueTask(Task.Delay(Timeout.Infinite, context.CancellationToken)), new TaskOptions { Timeout = TimeSpan.FromMilliseconds(20) });
        Assert.That(async () => await userTimeout, Throws.TypeOf<TimeoutException>());
        Assert.That(async () => await dispatcherTimeout, Throws.TypeOf<TaskTimeoutException>());

        var failures = collector.Of(TaskDispatchMetrics.AttemptFailures).ToList();
        Assert.That(failures, Has.Count.EqualTo(2));
        Assert.That(failures.Select(m => (m.Tags[TaskDispatchMetrics.ErrorTypeTag], m.Tags[TaskDispatchMetrics.FaultTag])), Is.EquivalentTo(new (object?, object?)[]
        {
            ("System.TimeoutException", "task"),
            ("TaskDispatch.TaskTimeoutException", "timeout"),
        }));
        var failedTasks = collector.Of(TaskDispatchMetrics.TasksFinished).Where(m => Equals(m.Tags[TaskDispatchMetrics.OutcomeTag], "failed")).ToList();
        Assert.That(failedTasks.Select(m => m.Tags[TaskDispatchMetrics.ErrorTypeTag]), Is.EquivalentTo(new[] { "System.TimeoutException", "TaskDispatch.TaskTimeoutException" }));
    }

    [Test]
    public async Task SlotsCapacity_IsReportedBesideSlotsInUse()
    {
        var name = $"capacity-{Guid.NewGuid():N}";
        using var collector = new MeterCollector(name);
        await using var dispatcher = new TaskDispatcherBuilder(name)
            .AddNode("small", static node => node.WithConcurrency(2))
            .AddNode("large", static node => node.WithConcurrency(6))
            .Build();

        collector.Observe();
        var capacity = collector.Of(TaskDispatchMetrics.SlotsCapacity).ToDictionary(m => (string)m.Tags[TaskDispatchMetrics.NodeTag]!, m => m.Value);
        Assert.That(capacity, Is.EquivalentTo(new Dictionary<string, double> { ["small"] = 2, ["large"] = 6 }));
        Assert.That(collector.Of(TaskDispatchMetrics.SlotsInUse).Select(m => m.Value), Is.All.EqualTo(0));
    }

    [Test]
    public async Task MeasureTimingsOff_SnapshotHasNoTimings()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Configure(static o => o.MeasureTimings = false).Build();

        await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        var statistics = dispatcher.GetStatistics();
        Assert.That(statistics.WaitingTime, Is.SameAs(TimingStatistics.Empty));
        Assert.That(statistics.ResponseTime.Count, Is.Zero);
        Assert.That(statistics.TasksCompleted, Is.EqualTo(1), "counts are kept either way");
    }
}
