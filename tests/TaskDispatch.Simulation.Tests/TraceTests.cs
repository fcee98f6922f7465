using Microsoft.Extensions.Time.Testing;

namespace TaskDispatch.Simulation.Tests;

/// <summary>Traces: recorded from a live dispatcher, kept in CSV, and replayed by the simulator.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class TraceTests
{
    [Test]
    public void A_trace_survives_a_round_trip_through_csv()
    {
        TraceRecord[] records =
        [
            new() { Arrival = TimeSpan.FromTicks(12_345), Duration = TimeSpan.FromMilliseconds(3.5), Kind = "resize, \"large\"", Priority = -2, Deadline = TimeSpan.FromSeconds(1), FairnessKey = "tenant\n7", EstimatedDuration = TimeSpan.FromMilliseconds(4), RequiredNode = "n1", RequiredTags = ["gpu", "ssd"], ResourceDemand = new Dictionary<string, double> { ["memory"] = 0.25, ["gpu"] = 1 }, MaxRetryAttempts = 3, Timeout = TimeSpan.FromMilliseconds(250), Outcome = TaskState.Failed },
            new() { Arrival = TimeSpan.Zero, Duration = TimeSpan.FromTicks(1) },
            new() { Arrival = TimeSpan.FromSeconds(1), Duration = TimeSpan.FromSeconds(2), Deadline = TimeSpan.FromMilliseconds(-5) },
        ];
        var writer = new StringWriter();
        new TaskTrace(records).Write(writer);
        var read = TaskTrace.Read(new StringReader(writer.ToString()));

        Assert.That(read.Records, Has.Count.EqualTo(3));
        var (plain, full) = (read.Records[0], read.Records[1]);
        Assert.Multiple(() =>
        {
            Assert.That(read.Records[2], Is.EqualTo(records[2]), "a deadline already past at arrival");
            Assert.That(plain, Is.EqualTo(records[1]), "kept in arrival order; an empty field is none");
            Assert.That(full with { RequiredTags = null, ResourceDemand = null }, Is.EqualTo(records[0] with { RequiredTags = null, ResourceDemand = null }));
            Assert.That(full.RequiredTags, Is.EqualTo(records[0].RequiredTags));
            Assert.That(full.ResourceDemand, Is.EquivalentTo(records[0].ResourceDemand!));
        });
    }

    [Test]
    public void A_bad_trace_is_refused_naming_the_line()
    {
        const string Header = "arrival_ms,duration_ms,kind,priority,deadline_ms,fairness_key,estimate_ms,required_node,required_tags,resources,max_retry_attempts,timeout_ms,outcome";
        Assert.Multiple(() =>
        {
            Assert.That(() => TaskTrace.Read(new StringReader("arrival,duration\n1,2\n")), Throws.TypeOf<FormatException>().With.Message.Contains("Line 1"));
            Assert.That(() => TaskTrace.Read(new StringReader($"{Header}\n1,2,k,0,,,,,,,,,Completed\n1,2\n")), Throws.TypeOf<FormatException>().With.Message.Contains("Line 3").And.Message.Contains("2 fields"));
            Assert.That(() => TaskTrace.Read(new StringReader($"{Header}\n1,-2,k,0,,,,,,,,,\n")), Throws.TypeOf<FormatException>().With.Message.Contains("Line 2").And.Message.Contains("duration_ms"));
            Assert.That(() => TaskTrace.Read(new StringReader($"{Header}\n1,2,k,high,,,,,,,,,\n")), Throws.TypeOf<FormatException>().With.Message.Contains("Line 2").And.Message.Not.Contains("fields"));
            Assert.That(() => TaskTrace.Read(new StringReader($"{Header}\n1,2,k,0,,,,,,gpu,,,\n")), Throws.TypeOf<FormatException>().With.Message.Contains("name=amount"));
            Assert.That(() => TaskTrace.Read(new StringReader($"{Header}\n1,2,\"k,0\n")), Throws.TypeOf<FormatException>().With.Message.Contains("quoted"));
            Assert.That(() => new TaskTrace([]).ToWorkload(), Throws.InvalidOperationException.With.Message.Contains("no tasks"));
            Assert.That(() => TaskTrace.Read(new StringReader($"{Header}\n1,2,k,0,,,,,,,,,4\n")), Throws.TypeOf<FormatException>().With.Message.Contains("Completed or Failed"));
            Assert.That(() => new TaskTrace([new TraceRecord { Arrival = TimeSpan.Zero, Duration = TimeSpan.Zero, RequiredTags = ["a;b"] }]), Throws.ArgumentException.With.Message.Contains("'a;b'"));
            Assert.That(() => new TaskTrace([new TraceRecord { Arrival = TimeSpan.Zero, Duration = TimeSpan.Zero, ResourceDemand = new Dictionary<string, double> { ["x=y"] = 1 } }]), Throws.ArgumentException.With.Message.Contains("'x=y'"));
            Assert.That(() => new TaskTrace([new TraceRecord { Arrival = TimeSpan.Zero, Duration = TimeSpan.Zero, Outcome = TaskState.Cancelled }]), Throws.ArgumentException.With.Message.Contains("Cancelled"));
            var workload = new TaskTrace([new TraceRecord { Arrival = TimeSpan.Zero, Duration = TimeSpan.FromMilliseconds(1) }]).ToWorkload();
            Assert.That(() => PolicySimulator.Run(new SimulatedWorkload { Count = 2, Arrivals = workload.Arrivals, ServiceTime = workload.ServiceTime }, [new SimulatedNode("a")], SchedulingPolicy.FirstComeFirstServed()),
                Throws.ArgumentException.With.Message.Contains("only 1 tasks"));
        });
    }

    [Test]
    public void A_replayed_trace_gives_the_simulation_it_was_taken_from()
    {
        // Record the tasks of one simulation as a trace (arrival, service time on a speed-1 node, options), and replay
        // it: the same policy must give the same waits, task for task.
        var workload = new SimulatedWorkload
        {
            Count = 20_000,
            Arrivals = Arrivals.Poisson(800),
            ServiceTime = ServiceTime.Bimodal(0.8, TimeSpan.FromMilliseconds(0.5), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(10)),
            Seed = 21,
            Options = (task, random) => new TaskOptions
            {
                Kind = task.Kind,
                Priority = random.Next(3),
                Deadline = DateTimeOffset.UnixEpoch + task.Arrival + TimeSpan.FromMilliseconds(random.Next(1, 50)),
                FairnessKey = random.Next(2) == 0 ? "a" : "b",
            },
        };

        var original = new Dictionary<int, TimeSpan>();
        var records = new List<TraceRecord>();
        var first = PolicySimulator.Run(workload, [new SimulatedNode("n", slots: 4)], SchedulingPolicy.ShortestJobFirst(), onTaskEnded: outcome =>
        {
            original[outcome.Index] = outcome.Wait;
            records.Add(new TraceRecord
            {
                Arrival = outcome.Arrival,
                Duration = outcome.Processing,
                Kind = outcome.Options.Kind,
                Priority = outcome.Options.Priority,
                Deadline = outcome.Options.Deadline - (DateTimeOffset.UnixEpoch + outcome.Arrival),
                FairnessKey = outcome.Options.FairnessKey,
            });
        });

        // Through CSV, as a user would keep it.
        var csv = new StringWriter();
        new TaskTrace(records).Write(csv);
        var trace = TaskTrace.Read(new StringReader(csv.ToString()));
        var replayed = new Dictionary<int, TimeSpan>();
        var second = PolicySimulator.Run(trace.ToWorkload(), [new SimulatedNode("n", slots: 4)], SchedulingPolicy.ShortestJobFirst(), onTaskEnded: outcome => replayed[outcome.Index] = outcome.Wait);

        Assert.Multiple(() =>
        {
            Assert.That(second.Waiting, Is.EqualTo(first.Waiting));
            Assert.That(second.DeadlinesMissed, Is.EqualTo(first.DeadlinesMissed));
            Assert.That(second.Fairness, Is.EqualTo(first.Fairness).Within(1e-12));
            Assert.That(replayed, Is.EqualTo(original), "task for task");
        });
    }

    [Test]
    public async Task The_recorder_takes_a_trace_from_a_live_dispatcher()
    {
        // One slot on a fake clock: task i is submitted at 100·i ms and runs 10·(i + 1) ms, so the trace is known exactly.
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var recorder = new TaskTraceRecorder();
        var dispatcher = new TaskDispatcherBuilder("recorded")
            .UseTimeProvider(clock)
            .AddNode("n", node => node.WithConcurrency(1))
            .AddObserver(recorder)
            .Build();
        var started = new SemaphoreSlim(0);
        var begin = clock.GetUtcNow();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                clock.SetUtcNow(begin + TimeSpan.FromMilliseconds(100 * i));
                var runFor = TimeSpan.FromMilliseconds(10 * (i + 1));
                var fails = i == 3;
                var handle = await dispatcher.SubmitAsync(async context =>
                {
                    var work = Task.Delay(runFor, context.TimeProvider, context.CancellationToken);
                    started.Release();
                    await work;
                    if (fails)
                    {
                        throw new InvalidOperationException("recorded as failed");
                    }
                }, new TaskOptions { Kind = i % 2 == 0 ? "even" : "odd", Priority = i, Deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(i + 1), FairnessKey = "t" + i });
                Assert.That(await started.WaitAsync(TimeSpan.FromSeconds(10)), Is.True, $"task {i} started");
                clock.Advance(runFor);
                await handle.Completion.ContinueWith(_ => { }, TaskScheduler.Default);
            }

            // A task cancelled before it ran is counted, not recorded.
            var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            var never = await dispatcher.SubmitAsync(_ => ValueTask.CompletedTask, new TaskOptions { CancellationToken = cancelled.Token, NotBefore = clock.GetUtcNow().AddHours(1) });
            await never.Completion.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.Zero);
        }

        var trace = recorder.ToTrace();
        Assert.That(trace.Records, Has.Count.EqualTo(5));
        Assert.Multiple(() =>
        {
            for (var i = 0; i < 5; i++)
            {
                var record = trace.Records[i];
                Assert.That(record.Arrival, Is.EqualTo(TimeSpan.FromMilliseconds(100 * i)), $"arrival {i}");
                Assert.That(record.Duration, Is.EqualTo(TimeSpan.FromMilliseconds(10 * (i + 1))), $"duration {i}");
                Assert.That(record.Kind, Is.EqualTo(i % 2 == 0 ? "even" : "odd"));
                Assert.That(record.Priority, Is.EqualTo(i));
                Assert.That(record.Deadline, Is.EqualTo(TimeSpan.FromSeconds(i + 1)));
                Assert.That(record.FairnessKey, Is.EqualTo("t" + i));
                Assert.That(record.Outcome, Is.EqualTo(i == 3 ? TaskState.Failed : TaskState.Completed));
            }

            Assert.That(recorder.NotRecorded, Is.EqualTo(1));
        });

        // Replayed on one slot, nothing overlaps: no task waits, and each runs its recorded time.
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"trace-{Guid.NewGuid():N}.csv");
        trace.Save(path);
        try
        {
            var report = PolicySimulator.Run(TaskTrace.Load(path).ToWorkload(), [new SimulatedNode("n")], SchedulingPolicy.FirstComeFirstServed());
            Assert.That(report.Waiting.Max, Is.EqualTo(TimeSpan.Zero));
            Assert.That(report.Processing.Mean, Is.EqualTo(TimeSpan.FromMilliseconds(30)));
            Assert.That(report.Makespan, Is.EqualTo(TimeSpan.FromMilliseconds(450)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task The_recorder_keeps_at_most_its_capacity()
    {
        Assert.That(() => new TaskTraceRecorder(0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("capacity"));
        var recorder = new TaskTraceRecorder(capacity: 3);
        var dispatcher = new TaskDispatcherBuilder("capped").AddNode("n", node => node.WithConcurrency(2)).AddObserver(recorder).Build();
        try
        {
            var handles = new List<TaskHandle>();
            for (var i = 0; i < 10; i++)
            {
                handles.Add(await dispatcher.SubmitAsync(_ => ValueTask.CompletedTask));
            }

            // A handle completes only after every observer heard of its end.
            await Task.WhenAll(handles.Select(handle => handle.Completion));
        }
        finally
        {
            await dispatcher.StopAsync(ShutdownMode.Cancel, TimeSpan.Zero);
        }

        Assert.That((recorder.Count, recorder.NotRecorded, recorder.ToTrace().Records.Count), Is.EqualTo((3, 7L, 3)));
    }
}
