using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Allocation;

/// <summary>What every <see cref="IAllocationStrategy"/> must do whatever node it prefers: decline an empty set, pick
/// the only candidate, return -1 or a valid index, never throw on valid input, never change the snapshots it reads, and
/// be reproducible: the same inputs and the same state (seed included) give the same decisions. Derive one fixture per
/// strategy; <see cref="CreateStrategy"/> must return a fresh instance with a fixed seed.</summary>
/// <remarks>Valid input mirrors what the dispatcher offers: candidates in node order, each with a free slot and the free
/// resources the task demands.</remarks>
public abstract class AllocationStrategyContractTests
{
    private const int RandomCalls = 10_000;
    private const int MaxCandidates = 256;

    protected abstract IAllocationStrategy CreateStrategy();

    [Test]
    public void SelectNode_NoCandidates_ReturnsMinusOne()
    {
        var strategy = CreateStrategy();

        Assert.That(strategy.SelectNode(Tasks.Create(), ReadOnlySpan<NodeSnapshot>.Empty), Is.EqualTo(-1));
    }

    [Test]
    public void SelectNode_OneCandidate_ReturnsZero()
    {
        var strategy = CreateStrategy();
        NodeSnapshot[] candidates = [new NodeSnapshot("only", 3, new NodeOptions().WithConcurrency(2))];

        for (var i = 0; i < 10; i++)
        {
            Assert.That(strategy.SelectNode(Tasks.Create(), candidates), Is.Zero, $"call {i}");
        }
    }

    [Test]
    public void SelectNode_OneBusyCandidateWithResourceDemand_ReturnsZero()
    {
        var strategy = CreateStrategy();
        var node = new NodeSnapshot("only", 0, new NodeOptions().WithConcurrency(4).WithResource("cpu", 8)) { ActiveTasks = 3, ResourcesInUse = Demand(5) };
        var task = Tasks.Create(options: new TaskOptions { ResourceDemand = Demand(3) });

        Assert.That(strategy.SelectNode(task, [node]), Is.Zero);
    }

    [Test]
    public void SelectNode_RandomCandidateSets_ReturnsMinusOneOrValidIndex()
    {
        var strategy = CreateStrategy();
        var random = new Random(20_250_801);
        var pool = CreatePool(random);
        var invalid = new List<string>();

        for (var call = 0; call < RandomCalls; call++)
        {
            if (call % 1_000 == 999)
            {
                pool = CreatePool(random);
            }

            var (task, candidates) = NextInput(random, pool);
            var chosen = strategy.SelectNode(task, candidates);
            if (chosen < -1 || chosen >= candidates.Length)
            {
                invalid.Add($"call {call}: {chosen} for {candidates.Length} candidate(s)");
            }
        }

        Assert.That(invalid, Is.Empty);
    }

    [Test]
    public void SelectNode_RandomCandidateSetsWithPositiveWeights_NeverDeclines()
    {
        // Every candidate can take the task and weighs 1 (the default): no built-in strategy has a reason to wait.
        var strategy = CreateStrategy();
        var random = new Random(20_250_802);
        var pool = CreatePool(random, zeroWeights: false);
        var declined = 0;

        for (var call = 0; call < RandomCalls; call++)
        {
            var (task, candidates) = NextInput(random, pool);
            if (strategy.SelectNode(task, candidates) < 0)
            {
                declined++;
            }
        }

        Assert.That(declined, Is.Zero);
    }

    [Test]
    public void SelectNode_EdgeCaseInputs_DoesNotThrow()
    {
        var strategy = CreateStrategy();
        var zeroWeight = new NodeSnapshot("zero", 0, new NodeOptions().WithConcurrency(1).WithWeight(0));
        var nearlyFull = new NodeSnapshot("full", 1, new NodeOptions().WithConcurrency(1_000).WithResource("cpu", 1)) { ActiveTasks = 999, ResourcesInUse = Demand(0.5) };
        var noResources = new NodeSnapshot("bare", int.MaxValue - 1, new NodeOptions().WithConcurrency(1));
        var tiny = new NodeSnapshot("tiny", int.MaxValue, new NodeOptions().WithConcurrency(1).WithWeight(double.Epsilon));
        NodeSnapshot[] all = [zeroWeight, nearlyFull, noResources, tiny];

        var tasks = new[]
        {
            Tasks.Create(),
            Tasks.Create(options: new TaskOptions { ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) }),
            Tasks.Create(options: new TaskOptions { ResourceDemand = new Dictionary<string, double>(StringComparer.Ordinal) { ["cpu"] = 0, ["gpu"] = 0 } }),
            Tasks.Create(options: new TaskOptions { PreferredTags = ["gpu"], RequiredTags = [] }),
        };

        Assert.Multiple(() =>
        {
            foreach (var task in tasks)
            {
                for (var start = 0; start < all.Length; start++)
                {
                    for (var length = 1; start + length <= all.Length; length++)
                    {
                        var candidates = all.AsSpan(start, length).ToArray();
                        int chosen = 0;
                        Assert.DoesNotThrow(() => chosen = strategy.SelectNode(task, candidates), $"{length} candidate(s) from {start}");
                        Assert.That(chosen, Is.InRange(-1, length - 1), $"{length} candidate(s) from {start}");
                    }
                }
            }

            var fit = Tasks.Create(options: new TaskOptions { ResourceDemand = Demand(0.5) });
            Assert.DoesNotThrow(() => strategy.SelectNode(fit, [nearlyFull]));
        });
    }

    [Test]
    public void SelectNode_SameInputSequence_TwoInstancesDecideTheSame()
    {
        var first = CreateStrategy();
        var second = CreateStrategy();
        var random = new Random(20_250_803);
        var pool = CreatePool(random);

        for (var call = 0; call < 2_000; call++)
        {
            var (task, candidates) = NextInput(random, pool);
            var a = first.SelectNode(task, candidates);
            var b = second.SelectNode(task, candidates);
            Assert.That(b, Is.EqualTo(a), $"call {call}");
        }
    }

    [Test]
    public void SelectNode_AnyInput_LeavesCandidatesUnchanged()
    {
        var strategy = CreateStrategy();
        var random = new Random(20_250_804);
        var pool = CreatePool(random);

        for (var call = 0; call < 500; call++)
        {
            var (task, candidates) = NextInput(random, pool);
            var before = candidates.Select(Describe).ToArray();
            strategy.SelectNode(task, candidates);
            Assert.That(candidates.Select(Describe).ToArray(), Is.EqualTo(before), $"call {call}");
        }
    }

    /// <summary>For strategies that keep no state between calls: the same input always gives the same answer.</summary>
    protected void AssertRepeatedCallsAgree()
    {
        var strategy = CreateStrategy();
        var random = new Random(20_250_805);
        var pool = CreatePool(random);

        for (var call = 0; call < 500; call++)
        {
            var (task, candidates) = NextInput(random, pool);
            var expected = strategy.SelectNode(task, candidates);
            for (var repeat = 0; repeat < 3; repeat++)
            {
                Assert.That(strategy.SelectNode(task, candidates), Is.EqualTo(expected), $"call {call}, repeat {repeat}");
            }
        }
    }

    protected static Dictionary<string, double> Demand(double cpu) => new(StringComparer.Ordinal) { ["cpu"] = cpu };

    private static string Describe(NodeSnapshot node) =>
        $"{node.Name}|{node.Index}|{node.ActiveTasks}/{node.MaxConcurrency}|{node.Weight}|{node.TasksAssigned}|"
        + string.Join(",", node.ResourceCapacity.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")) + "|"
        + string.Join(",", node.ResourcesInUse.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    /// <summary>Nodes in node order with gaps in their indices, varied slots, weights and cpu capacity, some cpu in use.</summary>
    private static NodeSnapshot[] CreatePool(Random random, bool zeroWeights = true)
    {
        var pool = new NodeSnapshot[MaxCandidates];
        var index = 0;
        for (var i = 0; i < pool.Length; i++)
        {
            index += 1 + random.Next(3);
            var capacity = 1 + random.Next(16);
            var options = new NodeOptions()
                .WithConcurrency(1 + random.Next(16))
                .WithWeight(zeroWeights ? random.Next(4) : 1)
                .WithResource("cpu", capacity);
            if (random.Next(4) == 0)
            {
                options.WithResource("memory", 1 + random.Next(64));
            }

            pool[i] = new NodeSnapshot($"n{index}", index, options) { ResourcesInUse = Demand(random.Next(capacity)) };
        }

        return pool;
    }

    /// <summary>A random subset of the pool, kept in node order, each with a free slot, and a task that fits them all.</summary>
    private static (TaskHandle Task, NodeSnapshot[] Candidates) NextInput(Random random, NodeSnapshot[] pool)
    {
        var count = 1 + random.Next(pool.Length);
        var chosen = Enumerable.Range(0, pool.Length).OrderBy(_ => random.Next()).Take(count).Order().ToArray();
        var candidates = new NodeSnapshot[count];
        var minFree = double.MaxValue;
        for (var i = 0; i < count; i++)
        {
            var node = pool[chosen[i]] with { ActiveTasks = random.Next(pool[chosen[i]].MaxConcurrency) };
            minFree = Math.Min(minFree, node.ResourceCapacity["cpu"] - node.ResourcesInUse.GetValueOrDefault("cpu"));
            candidates[i] = node;
        }

        var demand = random.Next((int)minFree + 1);
        var task = demand == 0 && random.Next(2) == 0
            ? Tasks.Create()
            : Tasks.Create(options: new TaskOptions { ResourceDemand = Demand(demand) });
        return (task, candidates);
    }
}
