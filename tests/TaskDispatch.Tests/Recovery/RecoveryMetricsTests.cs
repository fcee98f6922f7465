using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Recovery;

[TestFixture]
[CancelAfter(60_000)]
public sealed class RecoveryMetricsTests
{
    [Test]
    public async Task RetriedAndFailedTasks_AreMeasuredLiveAndOnTheSnapshot_OnAFakeClock()
    {
        var name = $"recovery-metrics-{Guid.NewGuid():N}";
        var measurements = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TaskDispatchMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var tagMap = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                tagMap[tag.Key] = tag.Value;
            }

            if (Equals(tagMap.GetValueOrDefault(TaskDispatchMetrics.DispatcherTag), name))
            {
                lock (measurements)
                {
                    measurements.Add((instrument.Name, value, tagMap));
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();

        var time = new FakeTimeProvider();
        var dispatcher = new TaskDispatcherBuilder(name)
            .UseTimeProvider(time)
            .UseRecovery(RecoveryPolicy.Retry(static o => { o.MaxRetryAttempts = 1; o.Delay = TimeSpan.FromSeconds(10); }))
            .AddNode("n1", static n => n.WithConcurrency(1))
            .Build();

        var recovers = await dispatcher.SubmitAsync(static context => context.Attempt == 1 ? throw new IOException("transient") : ValueTask.FromResult(1));
        var deadLetter = await dispatcher.SubmitAsync(static _ => throw new IOException("permanent"));
        await TestTimeouts.WaitUntilAsync(() => recovers.State == TaskState.Retrying && deadLetter.State == TaskState.Retrying, "both first attempts failed");

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(await recovers, Is.EqualTo(1));
        await Assert.ThrowsAsync<IOException>(async () => await deadLetter);

        var statistics = dispatcher.GetStatistics();
        await dispatcher.DisposeAsync();
        var recovery = statistics.Recovery;
        Assert.Multiple(() =>
        {
            Assert.That(statistics.TasksAccepted, Is.EqualTo(2));
            Assert.That(statistics.TasksCompleted, Is.EqualTo(1));
            Assert.That(statistics.TasksFailed, Is.EqualTo(1));
            Assert.That(recovery.AttemptFailures, Is.EqualTo(3));
            Assert.That(recovery.Restarts, Is.EqualTo(2));
            Assert.That(recovery.AverageRestartDelay, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(recovery.TasksRecovered, Is.EqualTo(1));
            Assert.That(recovery.AverageRecoveryTime, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(recovery.DeadLetters, Is.EqualTo(1));
            Assert.That(recovery.LostTasks, Is.Zero);
            Assert.That(recovery.LossRate, Is.Zero);
        });

        List<(string Instrument, double Value, Dictionary<string, object?> Tags)> seen;
        lock (measurements)
        {
            seen = [.. measurements];
        }

        double Sum(string instrument) => seen.Where(m => m.Instrument == instrument).Sum(static m => m.Value);
        Assert.Multiple(() =>
        {
            Assert.That(Sum(TaskDispatchMetrics.AttemptFailures), Is.EqualTo(3));
            Assert.That(seen.Where(static m => m.Instrument == TaskDispatchMetrics.AttemptFailures).Select(static m => m.Tags[TaskDispatchMetrics.FaultTag]), Is.All.EqualTo("task"));
            Assert.That(seen.Where(static m => m.Instrument == TaskDispatchMetrics.AttemptFailures).Select(static m => m.Tags[TaskDispatchMetrics.NodeTag]), Is.All.EqualTo("n1"));
            Assert.That(Sum(TaskDispatchMetrics.Restarts), Is.EqualTo(2));
            Assert.That(seen.Where(static m => m.Instrument == TaskDispatchMetrics.RestartDelay).Select(static m => m.Value), Is.EqualTo(new[] { 10.0, 10.0 }));
            Assert.That(seen.Where(static m => m.Instrument == TaskDispatchMetrics.RecoveryDuration).Select(static m => m.Value), Is.EqualTo(new[] { 10.0 }));
            Assert.That(Sum(TaskDispatchMetrics.DeadLetters), Is.EqualTo(1));
            Assert.That(Sum(TaskDispatchMetrics.LostTasks), Is.Zero);
        });
    }
}
