using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Weighted fair share (stride scheduling over <see cref="TaskOptions.FairnessKey"/>): proportional service,
/// no credit banked while idle, isolation from a noisy key, FIFO within a key.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class FairShareTests
{
    [Test]
    public void TryDequeue_WeightsThreeToOneBothBacklogged_SharesWithinFivePercentOverTenThousandDequeues()
    {
        var policy = CreatePolicy(("A", 3), ("B", 1));
        EnqueueMany(policy, "A", 10_000);
        EnqueueMany(policy, "B", 10_000);

        var servedA = 0;
        var worstPrefixError = 0.0;
        for (var n = 1; n <= 10_000; n++)
        {
            Assert.That(policy.TryDequeue(out var task), Is.True);
            if (task!.Options.FairnessKey == "A")
            {
                servedA++;
            }

            worstPrefixError = Math.Max(worstPrefixError, Math.Abs(servedA - (0.75 * n)));
        }

        var servedB = 10_000 - servedA;
        var ratio = (double)servedA / servedB;
        TestContext.Out.WriteLine($"A {servedA}, B {servedB}, ratio {ratio:F4}, worst prefix deviation {worstPrefixError:F2} turns");
        Assert.That(ratio, Is.EqualTo(3.0).Within(5).Percent);
        Assert.That(worstPrefixError, Is.LessThanOrEqualTo(1.0), "every prefix is within one turn of the 3:1 share");
    }

    [Test]
    public void TryDequeue_IdleKeyReturnsAfterThousandTurnsOfOther_GetsFairShareWithoutBankedCredit()
    {
        var policy = CreatePolicy();
        EnqueueMany(policy, "A", 2_000);
        EnqueueMany(policy, "B", 5);

        // Both backlogged until B runs dry, then A alone for 1,000 turns.
        var early = DequeueKeys(policy, 10);
        Assert.That(early.Count(k => k == "B"), Is.EqualTo(5));
        var alone = DequeueKeys(policy, 1_000);
        Assert.That(alone, Is.All.EqualTo("A"));

        EnqueueMany(policy, "B", 1_000);
        var next = DequeueKeys(policy, 40);

        var servedB = next.Count(k => k == "B");
        TestContext.Out.WriteLine($"B after its return: {servedB} of 40 turns: {string.Concat(next.Select(k => k))}");
        Assert.That(servedB, Is.InRange(19, 21), "equal weights: B gets about half of the turns from its return, not 1,000 in a row");
        Assert.That(LongestRun(next, "B"), Is.LessThanOrEqualTo(2));
    }

    [Test]
    public void TryDequeue_IdleKeyWithLowerWeightReturns_GetsItsWeightedShare()
    {
        var policy = CreatePolicy(("A", 3), ("B", 1));
        EnqueueMany(policy, "A", 2_000);
        var alone = DequeueKeys(policy, 1_000);
        Assert.That(alone, Is.All.EqualTo("A"));

        EnqueueMany(policy, "B", 1_000);
        var next = DequeueKeys(policy, 40);

        Assert.That(next.Count(k => k == "B"), Is.InRange(9, 11), "3:1 weights: B gets a quarter of the turns from its return");
    }

    [Test]
    public void TryDequeue_NoisyKeyWithTenThousandQueued_QuietKeysSingleTaskServedWithinTwoTurns()
    {
        var policy = CreatePolicy();
        EnqueueMany(policy, "noisy", 10_000);
        DequeueKeys(policy, 123);

        var quiet = PolicyTasks.Create(new TaskOptions { FairnessKey = "quiet" });
        policy.Enqueue(quiet);

        var turns = 0;
        TaskHandle? task;
        do
        {
            Assert.That(policy.TryDequeue(out task), Is.True);
            turns++;
        }
        while (!ReferenceEquals(task, quiet));

        Assert.That(turns, Is.LessThanOrEqualTo(2), "the quiet task waits at most a couple of turns behind 9,877 noisy ones");
        Assert.That(policy.Count, Is.EqualTo(10_000 - 123 - (turns - 1)));
    }

    [Test]
    public void TryDequeue_NoisyKeyWithHeavyWeight_QuietKeyStillServedWithinItsStride()
    {
        var policy = CreatePolicy(("noisy", 10), ("quiet", 1));
        EnqueueMany(policy, "noisy", 10_000);
        DequeueKeys(policy, 500);

        var quiet = PolicyTasks.Create(new TaskOptions { FairnessKey = "quiet" });
        policy.Enqueue(quiet);
        var turns = 0;
        TaskHandle? task;
        do
        {
            Assert.That(policy.TryDequeue(out task), Is.True);
            turns++;
        }
        while (!ReferenceEquals(task, quiet));

        Assert.That(turns, Is.LessThanOrEqualTo(2), "a returning key starts at the current pass, ahead of the noisy key's next turn");
    }

    [Test]
    public void TryDequeue_RandomlyInterleavedKeys_FifoWithinEachKey()
    {
        var policy = CreatePolicy(("A", 1), ("B", 2.5), ("C", 0.3));
        var random = new Random(4242);
        var keys = new[] { "A", "B", "C", "D" };
        var enqueued = keys.ToDictionary(k => k, _ => new List<TaskHandle>());
        var dequeued = keys.ToDictionary(k => k, _ => new List<TaskHandle>());
        for (var i = 0; i < 5_000; i++)
        {
            // Enqueues and dequeues mixed, so keys go idle and come back.
            if (random.Next(3) == 0 && policy.TryDequeue(out var task))
            {
                dequeued[task.Options.FairnessKey!].Add(task);
                continue;
            }

            var key = keys[random.Next(keys.Length)];
            var created = PolicyTasks.Create(new TaskOptions { FairnessKey = key });
            policy.Enqueue(created);
            enqueued[key].Add(created);
        }

        foreach (var task in PolicyTasks.Drain(policy))
        {
            dequeued[task.Options.FairnessKey!].Add(task);
        }

        foreach (var key in keys)
        {
            Assert.That(dequeued[key], Is.EqualTo(enqueued[key]), $"key {key} is served in arrival order");
        }
    }

    [Test]
    public async Task Dispatcher_WeightsThreeToOneBothBacklogged_ExecutionSharesWithinFivePercent()
    {
        const int PerKey = 400;
        await using var dispatcher = new TaskDispatcherBuilder()
            .UseScheduling(SchedulingPolicy.WeightedFairShare(o =>
            {
                o.Weights["A"] = 3;
                o.Weights["B"] = 1;
            }))
            .AddNode("n", n => n.WithConcurrency(1))
            .Configure(o => o.ShutdownMode = ShutdownMode.Cancel)
            .Build();
        var blocker = await SlotBlocker.OccupyAsync(dispatcher);
        var order = new ConcurrentQueue<(string Key, int Index)>();
        var handles = new List<TaskHandle>();

        // All of A first, then all of B: arrival order alone would run 400 A tasks before any B task.
        foreach (var key in new[] { "A", "B" })
        {
            for (var i = 0; i < PerKey; i++)
            {
                var index = i;
                handles.Add(await dispatcher.SubmitAsync(
                    _ =>
                    {
                        order.Enqueue((key, index));
                        return ValueTask.CompletedTask;
                    },
                    new TaskOptions { FairnessKey = key }));
            }
        }

        await blocker.ReleaseAndWaitAsync();
        await Task.WhenAll(handles.Select(h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        // While both are backlogged (the first 400 runs, when A has 300 of its 400 served), A gets 3 turns to B's 1.
        var backlogged = order.Take(PerKey).ToArray();
        var servedA = backlogged.Count(x => x.Key == "A");
        var servedB = backlogged.Length - servedA;
        TestContext.Out.WriteLine($"first {PerKey} runs: A {servedA}, B {servedB}");
        Assert.That((double)servedA / servedB, Is.EqualTo(3.0).Within(5).Percent);
        foreach (var key in new[] { "A", "B" })
        {
            Assert.That(order.Where(x => x.Key == key).Select(x => x.Index), Is.EqualTo(Enumerable.Range(0, PerKey)), $"key {key} runs in arrival order");
        }
    }

    private static WeightedFairSharePolicy CreatePolicy(params (string Key, double Weight)[] weights)
    {
        var options = new WeightedFairShareOptions();
        foreach (var (key, weight) in weights)
        {
            options.Weights[key] = weight;
        }

        return new WeightedFairSharePolicy(options);
    }

    private static void EnqueueMany(ISchedulingPolicy policy, string key, int count)
    {
        var options = new TaskOptions { FairnessKey = key };
        for (var i = 0; i < count; i++)
        {
            policy.Enqueue(PolicyTasks.Create(options));
        }
    }

    private static List<string> DequeueKeys(ISchedulingPolicy policy, int count)
    {
        var keys = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            Assert.That(policy.TryDequeue(out var task), Is.True, $"dequeue {i} of {count}");
            keys.Add(task!.Options.FairnessKey ?? string.Empty);
        }

        return keys;
    }

    private static int LongestRun(List<string> keys, string key)
    {
        int longest = 0, current = 0;
        foreach (var k in keys)
        {
            current = k == key ? current + 1 : 0;
            longest = Math.Max(longest, current);
        }

        return longest;
    }
}
