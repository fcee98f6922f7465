using Microsoft.Extensions.Time.Testing;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Shortest job first: given estimates, learned per-kind estimates (EWMA of processing time on the
/// dispatcher's clock), the default for unseen kinds, and the point of it all: a lower mean wait than FCFS.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class ShortestJobFirstTests
{
    private static readonly TimeSpan s_short = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan s_long = TimeSpan.FromMilliseconds(800);

    [Test]
    public void GetEstimate_UnseenKind_ReturnsDefaultEstimate()
    {
        var policy = new ShortestJobFirstPolicy(new ShortestJobFirstOptions { DefaultEstimate = TimeSpan.FromMilliseconds(250) });
        policy.OnAttemptSucceeded(Kind("seen"), TimeSpan.FromMilliseconds(40));

        Assert.That(policy.GetEstimate(Kind("unseen")), Is.EqualTo(TimeSpan.FromMilliseconds(250)));
        Assert.That(policy.GetEstimate(Kind("seen")), Is.EqualTo(TimeSpan.FromMilliseconds(40)));
    }

    [Test]
    public void GetEstimate_DefaultOptions_UnseenKindIsOneSecond()
    {
        var policy = new ShortestJobFirstPolicy();

        Assert.That(policy.GetEstimate(Kind("anything")), Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public void GetEstimate_GivenEstimatedDuration_OverridesLearnedAverage()
    {
        var policy = new ShortestJobFirstPolicy();
        policy.OnAttemptSucceeded(Kind("k"), TimeSpan.FromSeconds(5));

        var given = PolicyTasks.Create(new TaskOptions { Kind = "k", EstimatedDuration = TimeSpan.FromMilliseconds(3) });

        Assert.That(policy.GetEstimate(given), Is.EqualTo(TimeSpan.FromMilliseconds(3)));
        Assert.That(policy.GetEstimate(Kind("k")), Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [TestCase(0.5, new[] { 100, 300, 600 }, new[] { 100.0, 200.0, 400.0 })]
    [TestCase(0.25, new[] { 100, 500, 500, 100 }, new[] { 100.0, 200.0, 275.0, 231.25 })]
    [TestCase(1.0, new[] { 100, 700, 20 }, new[] { 100.0, 700.0, 20.0 })]
    public void GetEstimate_SeveralObservations_FollowsExponentiallyWeightedMovingAverage(double smoothing, int[] observedMs, double[] expectedMs)
    {
        var policy = new ShortestJobFirstPolicy(new ShortestJobFirstOptions { SmoothingFactor = smoothing });
        var task = Kind("k");

        for (var i = 0; i < observedMs.Length; i++)
        {
            policy.OnAttemptSucceeded(task, TimeSpan.FromMilliseconds(observedMs[i]));

            // The first observation is taken as is; then average += factor × (observed − average).
            Assert.That(policy.GetEstimate(task).TotalMilliseconds, Is.EqualTo(expectedMs[i]).Within(0.001), $"after observation {i + 1}");
        }
    }

    [Test]
    public void OnAttemptSucceeded_LearnEstimatesOff_EstimateStaysDefault()
    {
        var policy = new ShortestJobFirstPolicy(new ShortestJobFirstOptions { LearnEstimates = false, DefaultEstimate = TimeSpan.FromMilliseconds(70) });
        policy.OnAttemptSucceeded(Kind("k"), TimeSpan.FromMilliseconds(5));

        Assert.That(policy.GetEstimate(Kind("k")), Is.EqualTo(TimeSpan.FromMilliseconds(70)));
    }

    [Test]
    public void OnAttemptSucceeded_NegativeProcessingTime_IsIgnored()
    {
        var policy = new ShortestJobFirstPolicy();
        policy.OnAttemptSucceeded(Kind("k"), TimeSpan.FromMilliseconds(30));
        policy.OnAttemptSucceeded(Kind("k"), TimeSpan.FromMilliseconds(-1_000));

        Assert.That(policy.GetEstimate(Kind("k")), Is.EqualTo(TimeSpan.FromMilliseconds(30)));
    }

    [Test]
    public void Enqueue_AfterLearning_ShortKindOvertakesLongAndUnseenKindsSitAtDefault()
    {
        var policy = new ShortestJobFirstPolicy(new ShortestJobFirstOptions { DefaultEstimate = TimeSpan.FromMilliseconds(100) });
        policy.OnAttemptSucceeded(Kind("short"), s_short);
        policy.OnAttemptSucceeded(Kind("long"), s_long);
        var long1 = Kind("long", "long1");
        var unseen = Kind("unseen", "unseen");
        var long2 = Kind("long", "long2");
        var short1 = Kind("short", "short1");
        var short2 = Kind("short", "short2");
        foreach (var task in new[] { long1, unseen, long2, short1, short2 })
        {
            policy.Enqueue(task);
        }

        Assert.That(PolicyTasks.Drain(policy).Select(t => t.Id), Is.EqualTo(new[] { "short1", "short2", "unseen", "long1", "long2" }));
    }

    [Test]
    public void LearnedEstimate_ReordersTasksAlreadyQueued_WhileGivenEstimatesStayFixed()
    {
        var policy = new ShortestJobFirstPolicy(new ShortestJobFirstOptions { DefaultEstimate = TimeSpan.FromMilliseconds(100), SmoothingFactor = 1 });
        var a1 = Kind("a", "a1");
        var b1 = Kind("b", "b1");
        var a2 = Kind("a", "a2");
        var given = PolicyTasks.Create(new TaskOptions { EstimatedDuration = TimeSpan.FromMilliseconds(50), Kind = "a" }, id: "given");
        policy.Enqueue(a1);
        policy.Enqueue(b1);
        policy.Enqueue(a2);
        policy.Enqueue(given);

        // Kind a turns out long: its waiting tasks go behind b's (still at the 100 ms default), at once.
        policy.OnAttemptSucceeded(Kind("a"), TimeSpan.FromSeconds(10));
        Assert.That(policy.GetEstimate(a1), Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(policy.GetEstimate(given), Is.EqualTo(TimeSpan.FromMilliseconds(50)), "a given estimate is not learned over");
        Assert.That(PolicyTasks.Drain(policy), Is.EqualTo(new[] { given, b1, a1, a2 }));
    }

    [Test]
    public void LearnedKinds_RemovedHeadsAndRetriedTasks_KeepTheOrderBySequence()
    {
        var policy = new ShortestJobFirstPolicy(new ShortestJobFirstOptions { DefaultEstimate = TimeSpan.FromMilliseconds(100), SmoothingFactor = 1 });
        var a1 = Kind("a", "a1");
        var a2 = Kind("a", "a2");
        var b1 = Kind("b", "b1");
        var a3 = Kind("a", "a3");
        policy.Enqueue(a1);
        policy.Enqueue(a2);
        policy.Enqueue(b1);
        policy.Enqueue(a3);
        policy.OnAttemptSucceeded(Kind("b"), TimeSpan.FromMilliseconds(200));

        Assert.That(policy.Remove(a1), Is.True, "the head of kind a");
        Assert.That(policy.Remove(a1), Is.False);
        Assert.That(policy.TryDequeue(out var first), Is.True);
        Assert.That(first, Is.SameAs(a2));

        // a2 fails and is queued again: it keeps its sequence number, so it goes before a3.
        policy.Enqueue(a2);
        Assert.That(policy.Count, Is.EqualTo(3));
        Assert.That(PolicyTasks.Drain(policy), Is.EqualTo(new[] { a2, a3, b1 }));
    }

    [Test]
    public async Task Dispatcher_AfterWarmUpOfKindOption_ShortKindOvertakesLongKind()
    {
        var fake = new FakeTimeProvider();
        var policy = new ShortestJobFirstPolicy();
        await using var dispatcher = Build(fake, policy);
        var work = new TimedWork();

        // Warm-up: the policy learns each kind's processing time, measured on the fake clock.
        for (var i = 0; i < 3; i++)
        {
            await RunOneAsync(dispatcher, fake, work, $"warm-long{i}", s_long, new TaskOptions { Kind = "long" });
            await RunOneAsync(dispatcher, fake, work, $"warm-short{i}", s_short, new TaskOptions { Kind = "short" });
        }

        // The blocker can only start once the last warm-up attempt's slot was freed, which is when the policy learns.
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        Assert.That(policy.GetEstimate(PolicyTasks.Create(new TaskOptions { Kind = "short" })), Is.EqualTo(s_short));
        Assert.That(policy.GetEstimate(PolicyTasks.Create(new TaskOptions { Kind = "long" })), Is.EqualTo(s_long));

        var handles = new List<TaskHandle>();
        foreach (var (name, kind, duration) in new[] { ("long-a", "long", s_long), ("long-b", "long", s_long), ("short-a", "short", s_short), ("short-b", "short", s_short) })
        {
            handles.Add(await dispatcher.SubmitAsync(work.For(name, duration), new TaskOptions { Kind = kind }));
        }

        await blocker.ReleaseAndWaitAsync();
        await work.DriveAsync(fake, handles.Count);
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(work.Starts.Skip(6).Select(s => s.Name), Is.EqualTo(new[] { "short-a", "short-b", "long-a", "long-b" }));
    }

    [Test]
    public async Task Dispatcher_AfterWarmUpOfDelegateKinds_ShortDelegateOvertakesLongDelegate()
    {
        var fake = new FakeTimeProvider();
        var policy = new ShortestJobFirstPolicy();
        await using var dispatcher = Build(fake, policy);
        var work = new TimedWork();

        // No Kind given: each lambda below is a kind of its own. A fresh delegate per submission, as in real code.
        Func<TaskContext, ValueTask> ShortWork(string name) => context => work.RunAsync(context, name, s_short);
        Func<TaskContext, ValueTask> LongWork(string name) => context => work.RunAsync(context, name, s_long);

        for (var i = 0; i < 3; i++)
        {
            await RunOneAsync(dispatcher, fake, LongWork($"warm-long{i}"), work);
            await RunOneAsync(dispatcher, fake, ShortWork($"warm-short{i}"), work);
        }

        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handles = new List<TaskHandle>
        {
            await dispatcher.SubmitAsync(LongWork("long-a")),
            await dispatcher.SubmitAsync(LongWork("long-b")),
            await dispatcher.SubmitAsync(ShortWork("short-a")),
            await dispatcher.SubmitAsync(ShortWork("short-b")),
        };
        Assert.That(handles[0].Kind, Is.Not.EqualTo(handles[2].Kind));
        Assert.That(handles[0].Kind, Is.EqualTo(handles[1].Kind));

        await blocker.ReleaseAndWaitAsync();
        await work.DriveAsync(fake, handles.Count);
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(work.Starts.Skip(6).Select(s => s.Name), Is.EqualTo(new[] { "short-a", "short-b", "long-a", "long-b" }));
    }

    [Test]
    public async Task Dispatcher_GivenEstimatedDuration_OverridesLearnedKind()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, new ShortestJobFirstPolicy());
        var work = new TimedWork();
        await RunOneAsync(dispatcher, fake, work, "warm-long", s_long, new TaskOptions { Kind = "long" });
        await RunOneAsync(dispatcher, fake, work, "warm-short", s_short, new TaskOptions { Kind = "short" });

        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handles = new List<TaskHandle>
        {
            await dispatcher.SubmitAsync(work.For("short-claims-long", s_short), new TaskOptions { Kind = "short", EstimatedDuration = TimeSpan.FromSeconds(5) }),
            await dispatcher.SubmitAsync(work.For("long", s_long), new TaskOptions { Kind = "long" }),
            await dispatcher.SubmitAsync(work.For("long-claims-short", s_long), new TaskOptions { Kind = "long", EstimatedDuration = TimeSpan.FromMilliseconds(1) }),
        };

        await blocker.ReleaseAndWaitAsync();
        await work.DriveAsync(fake, handles.Count);
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(work.Starts.Skip(2).Select(s => s.Name), Is.EqualTo(new[] { "long-claims-short", "long", "short-claims-long" }));
    }

    [Test]
    public async Task ShortestJobFirst_MixedWorkloadOfTwentyTasks_LowerMeanWaitThanFirstComeFirstServed()
    {
        var random = new Random(20_250_601);
        var durations = Enumerable.Range(0, 20).Select(_ => TimeSpan.FromMilliseconds(random.Next(1, 1_001))).ToArray();

        var fcfs = await MeasureWaitsAsync(SchedulingPolicy.FirstComeFirstServed(), durations);
        var sjf = await MeasureWaitsAsync(SchedulingPolicy.ShortestJobFirst(), durations);

        var fcfsMean = fcfs.Waits.Average(w => w.TotalMilliseconds);
        var sjfMean = sjf.Waits.Average(w => w.TotalMilliseconds);
        TestContext.Out.WriteLine($"durations (ms): {string.Join(", ", durations.Select(d => d.TotalMilliseconds))}");
        TestContext.Out.WriteLine($"mean wait FCFS: {fcfsMean:F2} ms");
        TestContext.Out.WriteLine($"mean wait SJF:  {sjfMean:F2} ms ({sjfMean / fcfsMean:P1} of FCFS)");

        // Exact on the fake clock: FCFS runs in submission order, SJF by duration (ties in submission order).
        var sjfOrder = Enumerable.Range(0, durations.Length).OrderBy(i => durations[i]).ThenBy(i => i).ToArray();
        Assert.That(fcfs.Order, Is.EqualTo(Enumerable.Range(0, durations.Length)));
        Assert.That(sjf.Order, Is.EqualTo(sjfOrder));
        Assert.That(fcfsMean, Is.EqualTo(MeanWaitOf(Enumerable.Range(0, durations.Length), durations)).Within(1e-6));
        Assert.That(sjfMean, Is.EqualTo(MeanWaitOf(sjfOrder, durations)).Within(1e-6));
        Assert.That(sjfMean, Is.LessThan(fcfsMean));
    }

    [Test]
    public void PriorityBands_KindLearnedBeforeItsBandExisted_NewBandUsesLearnedEstimate()
    {
        // PriorityBandsPolicy promises that learning inner policies "hear about every finished attempt, whatever its
        // band"; a band created after the attempts finished never heard of them.
        var policy = new PriorityBandsPolicy(() => new ShortestJobFirstPolicy());
        policy.Enqueue(Kind("warm-up", "warm-up"));
        Assert.That(policy.TryDequeue(out _), Is.True);
        policy.OnAttemptSucceeded(Kind("short"), s_short);
        policy.OnAttemptSucceeded(Kind("long"), s_long);

        // Priority 1 is a band that did not exist while the attempts finished.
        var longTask = PolicyTasks.Create(new TaskOptions { Kind = "long", Priority = 1 }, id: "long");
        var shortTask = PolicyTasks.Create(new TaskOptions { Kind = "short", Priority = 1 }, id: "short");
        policy.Enqueue(longTask);
        policy.Enqueue(shortTask);

        Assert.That(PolicyTasks.Drain(policy).Select(t => t.Id), Is.EqualTo(new[] { "short", "long" }));
    }

    [Test]
    public void PriorityBands_KindLearnedWhileBandExisted_BandUsesLearnedEstimate()
    {
        var policy = new PriorityBandsPolicy(() => new ShortestJobFirstPolicy());
        policy.Enqueue(Kind("warm-up", "warm-up"));
        Assert.That(policy.TryDequeue(out _), Is.True);
        policy.OnAttemptSucceeded(Kind("short"), s_short);
        policy.OnAttemptSucceeded(Kind("long"), s_long);

        // Priority 0: the band of the warm-up task, which heard both attempts.
        policy.Enqueue(Kind("long", "long"));
        policy.Enqueue(Kind("short", "short"));

        Assert.That(PolicyTasks.Drain(policy).Select(t => t.Id), Is.EqualTo(new[] { "short", "long" }));
    }

    [Test]
    public async Task Dispatcher_PriorityBandsOfShortestJobFirst_KindLearnedAtOnePriorityOrdersTasksAtAnother()
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, SchedulingPolicy.PriorityBands(() => SchedulingPolicy.ShortestJobFirst()));
        var work = new TimedWork();
        for (var i = 0; i < 3; i++)
        {
            await RunOneAsync(dispatcher, fake, work, $"warm-long{i}", s_long, new TaskOptions { Kind = "long" });
            await RunOneAsync(dispatcher, fake, work, $"warm-short{i}", s_short, new TaskOptions { Kind = "short" });
        }

        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handles = new List<TaskHandle>
        {
            await dispatcher.SubmitAsync(work.For("long", s_long), new TaskOptions { Kind = "long", Priority = 1 }),
            await dispatcher.SubmitAsync(work.For("short", s_short), new TaskOptions { Kind = "short", Priority = 1 }),
        };

        await blocker.ReleaseAndWaitAsync();
        await work.DriveAsync(fake, handles.Count);
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        // Fails today: the priority-1 band was created after the warm-up and never heard of it, so both tasks get
        // DefaultEstimate and run in arrival order.
        Assert.That(work.Starts.Skip(6).Select(s => s.Name), Is.EqualTo(new[] { "short", "long" }));
    }

    private static TaskHandle Kind(string kind, string? id = null) => PolicyTasks.Create(new TaskOptions { Kind = kind }, id: id);

    private static double MeanWaitOf(IEnumerable<int> order, TimeSpan[] durations)
    {
        var elapsed = TimeSpan.Zero;
        var total = TimeSpan.Zero;
        foreach (var i in order)
        {
            total += elapsed;
            elapsed += durations[i];
        }

        return total.TotalMilliseconds / durations.Length;
    }

    /// <summary>Queues one task per duration at t = 0 behind a blocker on a single slot (estimates given), runs them on the
    /// fake clock and returns the order they ran in and each task's wait (start − submission).</summary>
    private static async Task<(int[] Order, TimeSpan[] Waits)> MeasureWaitsAsync(ISchedulingPolicy policy, TimeSpan[] durations)
    {
        var fake = new FakeTimeProvider();
        await using var dispatcher = Build(fake, policy);
        var work = new TimedWork();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var handles = new TaskHandle[durations.Length];
        for (var i = 0; i < durations.Length; i++)
        {
            handles[i] = await dispatcher.SubmitAsync(
                work.For(i.ToString(System.Globalization.CultureInfo.InvariantCulture), durations[i]),
                new TaskOptions { EstimatedDuration = durations[i] });
        }

        await blocker.ReleaseAndWaitAsync();
        await work.DriveAsync(fake, durations.Length);
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        var starts = work.Starts;
        var order = starts.Select(s => int.Parse(s.Name, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var waits = new TimeSpan[durations.Length];
        foreach (var start in starts)
        {
            var index = int.Parse(start.Name, System.Globalization.CultureInfo.InvariantCulture);
            waits[index] = start.StartedAt - handles[index].SubmittedAt;
        }

        return (order, waits);
    }

    private static Task RunOneAsync(TaskDispatcher dispatcher, FakeTimeProvider fake, TimedWork work, string name, TimeSpan duration, TaskOptions options) =>
        RunOneAsync(dispatcher, fake, work.For(name, duration), work, options);

    /// <summary>Runs one task to completion on an idle single-slot dispatcher, advancing the fake clock by its duration.</summary>
    private static async Task RunOneAsync(TaskDispatcher dispatcher, FakeTimeProvider fake, Func<TaskContext, ValueTask> body, TimedWork work, TaskOptions? options = null)
    {
        var handle = await dispatcher.SubmitAsync(body, options);
        await work.DriveAsync(fake, 1);
        await handle.Completion.WaitAsync(TestTimeouts.Generous);
    }

    private static TaskDispatcher Build(FakeTimeProvider fake, ISchedulingPolicy policy) =>
        new TaskDispatcherBuilder()
            .UseScheduling(policy)
            .AddNode("n", n => n.WithConcurrency(1))
            .UseTimeProvider(fake)
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();
}
