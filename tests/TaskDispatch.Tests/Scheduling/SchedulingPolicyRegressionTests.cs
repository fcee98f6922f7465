using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Deterministic reproductions of defects found while writing the contract and property tests of the
/// scheduling policies. Each test states the documented behaviour it expects.</summary>
[TestFixture]
public sealed class SchedulingPolicyRegressionTests
{
    /// <summary>The dequeue count at which <see cref="WeightedFairSharePolicy"/> sweeps idle keys (its private SweepInterval).</summary>
    private const int SweepInterval = 4096;

    [Test]
    public void WeightedFairShare_KeyEmptiedByTheDequeueThatSweeps_KeepsItsStrideDebt()
    {
        // Stride scheduling as documented: after its turn a key's pass grows by 1/weight, and a key back from idle
        // restarts at max(its pass, the current pass), so "idleness banks no credit". Light key b (weight 0.1) must
        // therefore wait about ten turns of heavy key a (weight 1) between two of its own turns, however soon it returns.
        var options = new WeightedFairShareOptions();
        options.Weights["a"] = 1;
        options.Weights["b"] = 0.1;
        var policy = new WeightedFairSharePolicy(options);
        for (var i = 0; i < SweepInterval + 100; i++)
        {
            policy.Enqueue(PolicyTasks.Create(new TaskOptions { FairnessKey = "a" }));
        }

        // Dequeues 1..4095 are all a's: a's pass is now 4095 and the current pass 4094.
        for (var i = 1; i < SweepInterval; i++)
        {
            Assert.That(policy.TryDequeue(out _), Is.True);
        }

        // b arrives, starts at the current pass 4094 < 4095 and takes dequeue 4096, leaving b empty: its pass becomes 4104.
        var firstB = PolicyTasks.Create(new TaskOptions { FairnessKey = "b" });
        policy.Enqueue(firstB);
        Assert.That(policy.TryDequeue(out var dequeued4096), Is.True);
        Assert.That(dequeued4096, Is.SameAs(firstB));

        // b returns at once. It owes ten of a's turns, so a must run at passes 4095..4103 before b runs again.
        var secondB = PolicyTasks.Create(new TaskOptions { FairnessKey = "b" });
        policy.Enqueue(secondB);
        var next = new List<string?>();
        for (var i = 0; i < 9; i++)
        {
            Assert.That(policy.TryDequeue(out var task), Is.True);
            next.Add(task!.Options.FairnessKey);
        }

        // The bug: the sweep inside dequeue 4096 ran before b's pass was advanced, saw b idle with pass == current pass,
        // forgot it, and the returning b got a fresh key at the current pass, jumping ahead of a.
        Assert.That(next, Is.All.EqualTo("a"), "keys served right after light key b returned");
    }

    [Test]
    public void PriorityBands_BandCreatedAfterAttemptsSucceeded_OrdersByLearnedEstimates()
    {
        // "Learning inner policies hear about every finished attempt, whatever its band."
        var policy = new PriorityBandsPolicy(static () => new ShortestJobFirstPolicy());
        policy.Enqueue(PolicyTasks.Create(new TaskOptions { Priority = 0 }));
        Assert.That(policy.TryDequeue(out _), Is.True);
        policy.OnAttemptSucceeded(PolicyTasks.Create(new TaskOptions { Kind = "slow" }), TimeSpan.FromSeconds(10));
        policy.OnAttemptSucceeded(PolicyTasks.Create(new TaskOptions { Kind = "fast" }), TimeSpan.FromMilliseconds(1));

        // Band 0 existed when the attempts finished: it learned that fast is shorter.
        var slowInOldBand = PolicyTasks.Create(new TaskOptions { Priority = 0, Kind = "slow" });
        var fastInOldBand = PolicyTasks.Create(new TaskOptions { Priority = 0, Kind = "fast" });
        policy.Enqueue(slowInOldBand);
        policy.Enqueue(fastInOldBand);
        Assert.That(policy.TryDequeue(out var firstOfOldBand), Is.True);
        Assert.That(firstOfOldBand, Is.SameAs(fastInOldBand), "control: the band that heard the attempts");
        Assert.That(policy.TryDequeue(out _), Is.True);

        // Band 5 is created now, on its first task: it must start with what band 0 learned, not the 1 s default for both.
        var slowInNewBand = PolicyTasks.Create(new TaskOptions { Priority = 5, Kind = "slow" });
        var fastInNewBand = PolicyTasks.Create(new TaskOptions { Priority = 5, Kind = "fast" });
        policy.Enqueue(slowInNewBand);
        policy.Enqueue(fastInNewBand);
        Assert.That(policy.TryDequeue(out var firstOfNewBand), Is.True);

        Assert.That(firstOfNewBand, Is.SameAs(fastInNewBand), "a band created after the attempts finished ignores what they taught");
    }
}
