using CsCheck;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>Property tests: random sequences of enqueue, dequeue, remove, re-enqueue, duplicate enqueue and learning,
/// run against each built-in policy and a reference model of it. Every run checks the multiset invariant (each queued
/// task comes out exactly once, nothing is invented, <see cref="ISchedulingPolicy.Count"/> is right after every
/// operation) and, at every dequeue, that the policy chose a task its documented order allows.</summary>
[TestFixture]
public sealed class SchedulingPolicyPropertyTests
{
    private const long Iterations = 200;
    private const int MaxOperations = 120;

    private static readonly string?[] s_fairnessKeys = [null, "a", "b", "c"];
    private static readonly string?[] s_kinds = [null, "fast", "slow"];
    private static readonly TimeSpan s_agingInterval = TimeSpan.FromSeconds(1);

    private enum OpKind
    {
        Enqueue,
        Dequeue,
        Remove,
        EnqueueAgain,
        EnqueueDuplicate,
        Learn,
    }

    [Test]
    public void FirstComeFirstServed_RandomOperations_DequeuesInEnqueueOrder()
    {
        // A task enqueued again (after removal or dequeue) goes to the back: FCFS orders by when it became ready.
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(new FirstComeFirstServedPolicy(), new TotalOrderModel("enqueue order", static (x, y) => x.Stamp.CompareTo(y.Stamp)), ops),
            iter: Iterations);
    }

    [Test]
    public void ShortestJobFirst_EveryTaskEstimated_DequeuesByEstimateThenSequence()
    {
        Operations(Specs(alwaysEstimate: true), learn: true).Sample(
            ops => Run(new ShortestJobFirstPolicy(), new ShortestJobFirstModel(TimeSpan.FromSeconds(1), 0.25, bands: false), ops),
            iter: Iterations);
    }

    [Test]
    public void ShortestJobFirst_MissingEstimatesAndLearning_DequeuesByGivenOrCurrentlyLearnedEstimateThenSequence()
    {
        // Without an estimate a task is ranked by its kind's moving average of observed durations (or the default before
        // the first observation), taken when it is enqueued.
        Operations(Specs(alwaysEstimate: false), learn: true).Sample(
            ops =>
            {
                var options = new ShortestJobFirstOptions { DefaultEstimate = TimeSpan.FromMilliseconds(25), SmoothingFactor = 0.5 };
                Run(new ShortestJobFirstPolicy(options), new ShortestJobFirstModel(options.DefaultEstimate, options.SmoothingFactor, bands: false), ops);
            },
            iter: Iterations);
    }

    [Test]
    public void Priority_RandomOperations_DequeuesHighestPriorityThenSequence()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(
                new PriorityPolicy(),
                new TotalOrderModel("(-Priority, SequenceNumber)", static (x, y) => Compare(-x.Priority, -y.Priority, x.Sequence, y.Sequence)),
                ops),
            iter: Iterations);
    }

    [Test]
    public void AgingPriority_RandomOperations_DequeuesHighestEffectivePriority()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(new PriorityPolicy(new PriorityPolicyOptions { AgingInterval = s_agingInterval }), new AgingModel(s_agingInterval), ops),
            iter: Iterations);
    }

    [Test]
    public void EarliestDeadlineFirst_DeadlineFreeLast_DequeuesByDeadlineThenSequence()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(
                new EarliestDeadlineFirstPolicy(),
                new TotalOrderModel("(has deadline first, deadline, SequenceNumber)", static (x, y) => CompareDeadlines(x, y, deadlineFreeGroup: 2)),
                ops),
            iter: Iterations);
    }

    [Test]
    public void EarliestDeadlineFirst_DeadlineFreeFirst_DequeuesDeadlineFreeThenByDeadlineThenSequence()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(
                new EarliestDeadlineFirstPolicy(new EarliestDeadlineFirstOptions { TasksWithoutDeadline = DeadlineFreeTaskOrder.First }),
                new TotalOrderModel("(no deadline first, deadline, SequenceNumber)", static (x, y) => CompareDeadlines(x, y, deadlineFreeGroup: 0)),
                ops),
            iter: Iterations);
    }

    [Test]
    public void WeightedFairShare_EqualWeights_KeysTakeStrideTurnsAndEachKeyIsFifo()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(new WeightedFairSharePolicy(), new FairShareModel(static _ => 1), ops),
            iter: Iterations);
    }

    [Test]
    public void WeightedFairShare_UnequalWeights_KeysTakeStrideTurnsAndEachKeyIsFifo()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops =>
            {
                var options = new WeightedFairShareOptions { DefaultWeight = 1.5 };
                options.Weights["a"] = 3;
                options.Weights["b"] = 0.25;
                options.Weights[string.Empty] = 1;
                Run(new WeightedFairSharePolicy(options), new FairShareModel(key => options.Weights.TryGetValue(key, out var w) ? w : options.DefaultWeight), ops);
            },
            iter: Iterations);
    }

    [Test]
    public void WeightedFairShare_LongRuns_EachTaskExactlyOnceAndEachKeyIsFifo()
    {
        // Past 4,096 dequeues the policy sweeps idle keys; tasks and per-key order must survive that.
        var keys = Gen.OneOf<string?>(null, "a", "b", "c", "d", "e");
        var picks = Gen.Int[0, 100_000];
        var op = Gen.Frequency(
            (6, (IGen<Op>)keys.Select(key => new Op(OpKind.Enqueue, new TaskSpec(0, null, null, key, null, 0), 0))),
            (5, Gen.Const(new Op(OpKind.Dequeue, default, 0))),
            (1, picks.Select(pick => new Op(OpKind.Remove, default, pick))),
            (1, picks.Select(pick => new Op(OpKind.EnqueueAgain, default, pick))));
        op.Array[14_000, 16_000].Sample(
            ops => Run(new WeightedFairSharePolicy(), new FairShareModel(static _ => 1, checkTurns: false), ops),
            iter: 4);
    }

    [Test]
    public void WeightedFairShare_EqualWeightsAllKeysBacklogged_ServesRoundRobin()
    {
        // Keys 0..k-1 each arrive once, then more tasks arrive in a random interleaving, all before the first dequeue.
        var gen = Gen.Int[2, 6].SelectMany(keyCount => Gen.Int[0, keyCount - 1].Array[0, 60].Select(extra => (keyCount, extra)));
        gen.Sample(
            (keyCount, extra) =>
            {
                var policy = new WeightedFairSharePolicy();
                var arrivals = Enumerable.Range(0, keyCount).Concat(extra).ToArray();
                var tasks = arrivals.Select(key => PolicyTasks.Create(new TaskOptions { FairnessKey = $"k{key}" })).ToArray();
                foreach (var task in tasks)
                {
                    policy.Enqueue(task);
                }

                var served = Drain(policy, tasks.Length);
                var perKey = arrivals.GroupBy(key => key).Min(group => group.Count());

                // While every key is backlogged (perKey full rounds), each round of keyCount turns serves every key once.
                for (var round = 0; round < perKey; round++)
                {
                    var keysInRound = served.Skip(round * keyCount).Take(keyCount).Select(task => task.Options.FairnessKey).Distinct().Count();
                    Check(keysInRound == keyCount, $"round {round} of {perKey} served {keysInRound} distinct keys of {keyCount}");
                }

                CheckFifoPerKey(served);
            },
            iter: Iterations);
    }

    [Test]
    public void WeightedFairShare_AllKeysBacklogged_ServiceOverWeightOfAnyTwoKeysDiffersByAtMostOneStride()
    {
        // Stride scheduling's guarantee: with passes s/w, no backlogged key runs more than one of its strides ahead of another.
        var gen = Gen.Int[1, 5].Array[2, 6].SelectMany(weights => Gen.Int[5, 40].Select(perWeight => (weights, perWeight)));
        gen.Sample(
            (weights, perWeight) =>
            {
                var options = new WeightedFairShareOptions();
                for (var key = 0; key < weights.Length; key++)
                {
                    options.Weights[$"k{key}"] = weights[key];
                }

                var policy = new WeightedFairSharePolicy(options);
                var remaining = new int[weights.Length];
                for (var key = 0; key < weights.Length; key++)
                {
                    remaining[key] = weights[key] * perWeight;
                    for (var i = 0; i < remaining[key]; i++)
                    {
                        policy.Enqueue(PolicyTasks.Create(new TaskOptions { FairnessKey = $"k{key}" }));
                    }
                }

                var served = new int[weights.Length];
                for (var turn = 1; remaining.All(count => count > 0); turn++)
                {
                    Check(policy.TryDequeue(out var task), $"turn {turn}: nothing dequeued though tasks are queued");
                    var key = int.Parse(task!.Options.FairnessKey!.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                    served[key]++;
                    remaining[key]--;
                    for (var i = 0; i < weights.Length; i++)
                    {
                        for (var j = i + 1; j < weights.Length; j++)
                        {
                            var gap = Math.Abs(((double)served[i] / weights[i]) - ((double)served[j] / weights[j]));
                            var bound = Math.Max(1.0 / weights[i], 1.0 / weights[j]) + 1e-9;
                            Check(gap <= bound, $"turn {turn}: keys {i} (w {weights[i]}, served {served[i]}) and {j} (w {weights[j]}, served {served[j]}) differ by {gap} > {bound}");
                        }
                    }
                }
            },
            iter: Iterations);
    }

    [Test]
    public void PriorityBandsOfWeightedFairShare_RandomOperations_HighestBandFirstThenStrideTurnsWithinBand()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(new PriorityBandsPolicy(static () => new WeightedFairSharePolicy()), new BandsOfFairShareModel(), ops),
            iter: Iterations);
    }

    [Test]
    public void PriorityBandsOfShortestJobFirst_EveryTaskEstimated_DequeuesByPriorityThenEstimateThenSequence()
    {
        Operations(Specs(alwaysEstimate: true), learn: true).Sample(
            ops => Run(new PriorityBandsPolicy(static () => new ShortestJobFirstPolicy()), new ShortestJobFirstModel(TimeSpan.FromSeconds(1), 0.25, bands: true), ops),
            iter: Iterations);
    }

    [Test]
    public void PriorityBandsOfFirstComeFirstServed_RandomOperations_DequeuesByPriorityThenEnqueueOrder()
    {
        Operations(Specs(alwaysEstimate: false), learn: false).Sample(
            ops => Run(
                new PriorityBandsPolicy(static () => new FirstComeFirstServedPolicy()),
                new TotalOrderModel("(-Priority, enqueue order)", static (x, y) => Compare(-x.Priority, -y.Priority, x.Stamp, y.Stamp)),
                ops),
            iter: Iterations);
    }

    private static Gen<TaskSpec> Specs(bool alwaysEstimate) => Gen.Select(
        Gen.Int[-2, 3],
        alwaysEstimate ? Gen.Int[0, 6] : Gen.Int[-1, 6],
        Gen.Int[-1, 4],
        Gen.Int[0, s_fairnessKeys.Length - 1],
        Gen.Int[0, s_kinds.Length - 1],
        Gen.Int[0, 8],
        static (priority, estimate, deadline, key, kind, ready) => new TaskSpec(
            priority,
            estimate < 0 ? null : estimate * 10,
            deadline < 0 ? null : deadline,
            s_fairnessKeys[key],
            s_kinds[kind],
            ready * 500));

    private static Gen<Op[]> Operations(Gen<TaskSpec> specs, bool learn)
    {
        var picks = Gen.Int[0, 10_000];
        var ops = new List<(int, IGen<Op>)>
        {
            (8, specs.Select(spec => new Op(OpKind.Enqueue, spec, 0))),
            (6, Gen.Const(new Op(OpKind.Dequeue, default, 0))),
            (2, picks.Select(pick => new Op(OpKind.Remove, default, pick))),
            (1, picks.Select(pick => new Op(OpKind.EnqueueAgain, default, pick))),
            (1, picks.Select(pick => new Op(OpKind.EnqueueDuplicate, default, pick))),
        };
        if (learn)
        {
            ops.Add((2, Gen.Select(Gen.Int[0, s_kinds.Length - 1], Gen.Int[0, 80], static (kind, ms) => new Op(OpKind.Learn, new TaskSpec(0, null, null, null, s_kinds[kind], 0), ms))));
        }

        return Gen.Frequency([.. ops]).Array[0, MaxOperations];
    }

    /// <summary>Runs <paramref name="ops"/> against <paramref name="policy"/> and the reference model, then drains both.</summary>
    private static void Run(ISchedulingPolicy policy, OrderModel model, Op[] ops)
    {
        var queued = new List<Entry>();
        var created = new List<TaskHandle>();

        // Created tasks that are not queued (dequeued or removed): the candidates for enqueuing again.
        var idle = new List<TaskHandle>();
        long stamp = 0;

        for (var step = 0; step < ops.Length; step++)
        {
            var op = ops[step];
            switch (op.Kind)
            {
                case OpKind.Enqueue:
                    var task = op.Spec.Create();
                    created.Add(task);
                    Enqueue(task);
                    break;

                case OpKind.Dequeue:
                    Dequeue(step);
                    break;

                case OpKind.Remove when created.Count > 0:
                    var target = created[op.Pick % created.Count];
                    var index = queued.FindIndex(entry => ReferenceEquals(entry.Task, target));
                    var removed = policy.Remove(target);
                    Check(removed == (index >= 0), $"step {step}: Remove({Describe(target)}) returned {removed}, but the task {(index >= 0 ? "is" : "is not")} queued");
                    if (index >= 0)
                    {
                        model.OnRemoved(queued[index], queued);
                        queued.RemoveAt(index);
                        idle.Add(target);
                    }

                    break;

                case OpKind.EnqueueAgain when idle.Count > 0:
                    var again = op.Pick % idle.Count;
                    var returning = idle[again];
                    idle[again] = idle[^1];
                    idle.RemoveAt(idle.Count - 1);
                    Enqueue(returning);
                    break;

                case OpKind.EnqueueDuplicate when queued.Count > 0:
                    var duplicate = queued[op.Pick % queued.Count].Task;
                    var threw = false;
                    try
                    {
                        policy.Enqueue(duplicate);
                    }
                    catch (InvalidOperationException)
                    {
                        threw = true;
                    }

                    Check(threw, $"step {step}: enqueuing queued task {Describe(duplicate)} again did not throw InvalidOperationException");
                    break;

                case OpKind.Learn:
                    var observed = TimeSpan.FromMilliseconds(op.Pick);
                    (policy as ILearningSchedulingPolicy)?.OnAttemptSucceeded(op.Spec.Create(), observed);
                    model.OnLearned(op.Spec.Kind ?? string.Empty, observed);
                    break;
            }

            Check(policy.Count == queued.Count, $"step {step} ({op.Kind}): Count is {policy.Count}, the model has {queued.Count} queued");
        }

        while (queued.Count > 0)
        {
            Dequeue(-1);
        }

        Check(!policy.TryDequeue(out var extra), $"drained: the policy still returned {(extra is null ? "null" : Describe(extra))}");
        Check(policy.Count == 0, $"drained: Count is {policy.Count}");

        void Enqueue(TaskHandle task)
        {
            var entry = new Entry(task, stamp++);
            model.OnEnqueue(entry, queued);
            policy.Enqueue(task);
            queued.Add(entry);
        }

        void Dequeue(int step)
        {
            var dequeued = policy.TryDequeue(out var task);
            var where = step < 0 ? "final drain" : $"step {step}";
            if (queued.Count == 0)
            {
                Check(!dequeued, $"{where}: the queue is empty, but TryDequeue returned {(task is null ? "null" : Describe(task))}");
                return;
            }

            Check(dequeued && task is not null, $"{where}: TryDequeue returned nothing though {queued.Count} tasks are queued");
            var index = queued.FindIndex(entry => ReferenceEquals(entry.Task, task));
            Check(index >= 0, $"{where}: TryDequeue returned {Describe(task!)}, which is not queued (never enqueued, removed or already dequeued)");
            var chosen = queued[index];
            var violation = model.Check(chosen, queued);
            Check(violation is null, $"{where}: dequeued {chosen}; {violation}");
            model.OnDequeued(chosen, queued);
            queued.RemoveAt(index);
            idle.Add(chosen.Task);
        }
    }

    private static List<TaskHandle> Drain(ISchedulingPolicy policy, int expected)
    {
        var result = new List<TaskHandle>();
        var seen = new HashSet<TaskHandle>(ReferenceEqualityComparer.Instance);
        while (policy.TryDequeue(out var task))
        {
            Check(seen.Add(task), $"{Describe(task)} was dequeued twice");
            result.Add(task);
        }

        Check(result.Count == expected, $"dequeued {result.Count} tasks, {expected} were queued");
        return result;
    }

    private static void CheckFifoPerKey(IEnumerable<TaskHandle> served)
    {
        foreach (var group in served.GroupBy(task => task.Options.FairnessKey ?? string.Empty))
        {
            var sequences = group.Select(task => task.SequenceNumber).ToList();
            Check(sequences.SequenceEqual(sequences.Order()), $"key '{group.Key}' was not served in arrival order: {string.Join(", ", sequences)}");
        }
    }

    private static int Compare(long x1, long y1, long x2, long y2)
    {
        var result = x1.CompareTo(y1);
        return result != 0 ? result : x2.CompareTo(y2);
    }

    private static int CompareDeadlines(Entry x, Entry y, int deadlineFreeGroup)
    {
        var xGroup = x.Options.Deadline is null ? deadlineFreeGroup : 1;
        var yGroup = y.Options.Deadline is null ? deadlineFreeGroup : 1;
        var result = xGroup.CompareTo(yGroup);
        if (result == 0)
        {
            result = Nullable.Compare(x.Options.Deadline, y.Options.Deadline);
        }

        return result != 0 ? result : x.Sequence.CompareTo(y.Sequence);
    }

    /// <summary>Fails the property; CsCheck then shrinks the operations to a minimal counterexample.</summary>
    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new AssertionException(message);
        }
    }

    private static string Describe(TaskHandle task)
    {
        var options = task.Options;
        return $"#{task.SequenceNumber} (p {options.Priority}, est {options.EstimatedDuration?.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}ms, " +
            $"deadline {(options.Deadline is { } d ? (d - PolicyTasks.Epoch).TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + "s" : "-")}, " +
            $"key '{options.FairnessKey}', kind '{options.Kind}', ready +{(task.ReadyAt - PolicyTasks.Epoch).TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}ms)";
    }

    /// <summary>A task to create: the generated, immutable description (handles are mutable, so each run makes its own).</summary>
    private readonly record struct TaskSpec(int Priority, int? EstimateMs, int? DeadlineSeconds, string? FairnessKey, string? Kind, int ReadyMs)
    {
        public TaskHandle Create() => PolicyTasks.Create(
            new TaskOptions
            {
                Priority = Priority,
                EstimatedDuration = EstimateMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                Deadline = DeadlineSeconds is { } seconds ? PolicyTasks.Epoch + TimeSpan.FromSeconds(seconds) : null,
                FairnessKey = FairnessKey,
                Kind = Kind,
            },
            PolicyTasks.Epoch + TimeSpan.FromMilliseconds(ReadyMs));
    }

    /// <summary>One generated operation; <see cref="Pick"/> chooses the target task (modulo the candidates) or, for
    /// <see cref="OpKind.Learn"/>, the observed milliseconds.</summary>
    private readonly record struct Op(OpKind Kind, TaskSpec Spec, int Pick);

    /// <summary>A queued task in the model, with the model's own enqueue counter (<see cref="Stamp"/>).</summary>
    private sealed class Entry(TaskHandle task, long stamp)
    {
        public TaskHandle Task { get; } = task;

        public long Stamp { get; } = stamp;

        public TaskOptions Options => Task.Options;

        public long Sequence => Task.SequenceNumber;

        public int Priority => Task.Options.Priority;

        public string FairnessKey => Task.Options.FairnessKey ?? string.Empty;

        /// <summary>The estimate the model expects the policy to have fixed at enqueue, for shortest-job-first.</summary>
        public long EstimateTicks { get; set; }

        public override string ToString() => $"{Describe(Task)} [enqueue #{Stamp}]";
    }

    /// <summary>The reference model of one policy's order.</summary>
    private abstract class OrderModel
    {
        public virtual void OnEnqueue(Entry entry, IReadOnlyList<Entry> queuedBefore)
        {
        }

        /// <summary>Returns why <paramref name="chosen"/> may not be dequeued now, or <see langword="null"/> if it may.</summary>
        public abstract string? Check(Entry chosen, IReadOnlyList<Entry> queued);

        public virtual void OnDequeued(Entry chosen, IReadOnlyList<Entry> queued)
        {
        }

        public virtual void OnRemoved(Entry removed, IReadOnlyList<Entry> queued)
        {
        }

        public virtual void OnLearned(string kind, TimeSpan observed)
        {
        }
    }

    /// <summary>A policy that orders all tasks totally: the next task is the minimum.</summary>
    private class TotalOrderModel(string name, Comparison<Entry> comparison) : OrderModel
    {
        public override string? Check(Entry chosen, IReadOnlyList<Entry> queued)
        {
            var expected = queued[0];
            foreach (var entry in queued)
            {
                if (comparison(entry, expected) < 0)
                {
                    expected = entry;
                }
            }

            return ReferenceEquals(expected, chosen) ? null : $"by {name} the next task is {expected}";
        }
    }

    /// <summary>Shortest job first: (estimate, sequence), where a given estimate is fixed at enqueue and a learned one is
    /// the kind's current estimate (waiting tasks move when their kind learns); with bands, priority goes first.</summary>
    private sealed class ShortestJobFirstModel(TimeSpan defaultEstimate, double smoothing, bool bands)
        : TotalOrderModel(bands ? "(-Priority, estimate, SequenceNumber)" : "(estimate, SequenceNumber)", (x, y) =>
        {
            var result = bands ? y.Priority.CompareTo(x.Priority) : 0;
            return result != 0 ? result : Compare(x.EstimateTicks, y.EstimateTicks, x.Sequence, y.Sequence);
        })
    {
        private readonly Dictionary<string, double> _learned = new(StringComparer.Ordinal);
        private readonly List<Entry> _learning = [];

        public override void OnEnqueue(Entry entry, IReadOnlyList<Entry> queuedBefore)
        {
            if (entry.Options.EstimatedDuration is { } given)
            {
                entry.EstimateTicks = given.Ticks;
                return;
            }

            entry.EstimateTicks = _learned.TryGetValue(entry.Options.Kind ?? string.Empty, out var learned) ? (long)learned : defaultEstimate.Ticks;
            _learning.Add(entry);
        }

        public override void OnLearned(string kind, TimeSpan observed)
        {
            var estimate = _learned[kind] = _learned.TryGetValue(kind, out var average)
                ? average + (smoothing * (observed.Ticks - average))
                : observed.Ticks;
            foreach (var entry in _learning)
            {
                if ((entry.Options.Kind ?? string.Empty) == kind)
                {
                    entry.EstimateTicks = (long)estimate;
                }
            }
        }
    }

    /// <summary>Priority with aging: the highest <c>Priority − ReadyAt / I</c> goes first (exact integer arithmetic here);
    /// values closer than a microsecond of waiting count as a tie, and equal (priority, ready time) go by sequence.</summary>
    private sealed class AgingModel(TimeSpan interval) : OrderModel
    {
        private const long ToleranceTicks = 10;

        public override string? Check(Entry chosen, IReadOnlyList<Entry> queued)
        {
            foreach (var entry in queued)
            {
                if (Value(entry) > Value(chosen) + ToleranceTicks)
                {
                    return $"{entry} has a higher effective priority (by {(Value(entry) - Value(chosen)) / (double)interval.Ticks} levels)";
                }

                if (entry.Priority == chosen.Priority && entry.Task.ReadyAt == chosen.Task.ReadyAt && entry.Sequence < chosen.Sequence)
                {
                    return $"{entry} has the same priority and ready time and arrived earlier";
                }
            }

            return null;
        }

        /// <summary>Priority − ReadyAt / I, scaled by I to stay integral: higher goes first.</summary>
        private long Value(Entry entry) => (entry.Priority * interval.Ticks) - (entry.Task.ReadyAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);
    }

    /// <summary>Stride scheduling as documented: the backlogged key with the lowest pass goes next and its pass grows by
    /// 1/weight; a key returning from idle starts at the pass of the key served last. Ties may go either way.</summary>
    private sealed class StrideModel(Func<string, double> weightOf)
    {
        private readonly Dictionary<string, double> _pass = new(StringComparer.Ordinal);
        private double _currentPass;

        public void OnEnqueue(string key, bool keyWasIdle)
        {
            if (keyWasIdle)
            {
                _pass[key] = Math.Max(_pass.GetValueOrDefault(key), _currentPass);
            }
        }

        public string? Check(string chosenKey, IEnumerable<string> backloggedKeys)
        {
            var (lowestKey, lowest) = (chosenKey, _pass[chosenKey]);
            foreach (var key in backloggedKeys)
            {
                if (_pass[key] < lowest)
                {
                    (lowestKey, lowest) = (key, _pass[key]);
                }
            }

            return _pass[chosenKey] <= lowest + 1e-9
                ? null
                : $"key '{chosenKey}' has pass {_pass[chosenKey]}, but backlogged key '{lowestKey}' has the lower pass {lowest}";
        }

        public void OnDequeued(string key)
        {
            _currentPass = _pass[key];
            _pass[key] += 1 / weightOf(key);
        }
    }

    /// <summary>Weighted fair share: FIFO (by sequence) within a key and, optionally, stride turns among keys.</summary>
    private sealed class FairShareModel(Func<string, double> weightOf, bool checkTurns = true) : OrderModel
    {
        private readonly StrideModel _stride = new(weightOf);

        public override void OnEnqueue(Entry entry, IReadOnlyList<Entry> queuedBefore) =>
            _stride.OnEnqueue(entry.FairnessKey, !queuedBefore.Any(other => other.FairnessKey == entry.FairnessKey));

        public override string? Check(Entry chosen, IReadOnlyList<Entry> queued) =>
            CheckFifo(chosen, queued, sameQueue: other => other.FairnessKey == chosen.FairnessKey)
            ?? (checkTurns ? _stride.Check(chosen.FairnessKey, queued.Select(entry => entry.FairnessKey)) : null);

        public override void OnDequeued(Entry chosen, IReadOnlyList<Entry> queued) => _stride.OnDequeued(chosen.FairnessKey);
    }

    /// <summary>Priority bands of weighted fair share: the highest band first; inside it, fair share as above.</summary>
    private sealed class BandsOfFairShareModel : OrderModel
    {
        private readonly Dictionary<int, StrideModel> _bands = [];

        public override void OnEnqueue(Entry entry, IReadOnlyList<Entry> queuedBefore) =>
            Band(entry.Priority).OnEnqueue(entry.FairnessKey, !queuedBefore.Any(other => other.Priority == entry.Priority && other.FairnessKey == entry.FairnessKey));

        public override string? Check(Entry chosen, IReadOnlyList<Entry> queued)
        {
            var highest = queued.Max(entry => entry.Priority);
            if (chosen.Priority != highest)
            {
                return $"priority {highest} is backlogged";
            }

            return CheckFifo(chosen, queued, sameQueue: other => other.Priority == chosen.Priority && other.FairnessKey == chosen.FairnessKey)
                ?? Band(highest).Check(chosen.FairnessKey, queued.Where(entry => entry.Priority == highest).Select(entry => entry.FairnessKey));
        }

        public override void OnDequeued(Entry chosen, IReadOnlyList<Entry> queued) => Band(chosen.Priority).OnDequeued(chosen.FairnessKey);

        private StrideModel Band(int priority)
        {
            if (!_bands.TryGetValue(priority, out var band))
            {
                band = new StrideModel(static _ => 1);
                _bands.Add(priority, band);
            }

            return band;
        }
    }

    private static string? CheckFifo(Entry chosen, IReadOnlyList<Entry> queued, Func<Entry, bool> sameQueue)
    {
        foreach (var other in queued)
        {
            if (other.Sequence < chosen.Sequence && sameQueue(other))
            {
                return $"{other} is in the same queue and arrived earlier";
            }
        }

        return null;
    }
}
