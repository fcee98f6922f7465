using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>What every <see cref="ISchedulingPolicy"/> must do whatever order it chooses: hand out each queued task
/// exactly once, invent none, count right, remove and re-admit tasks, and reject misuse. Derive one fixture per policy.</summary>
/// <remarks>Tasks come from <see cref="PolicyTasks.CreateMixed"/>, which varies priority, estimate, deadline, fairness
/// key, kind and ready time, so that each policy's ordering (heaps, bands, fair-share turns) is exercised.</remarks>
public abstract class SchedulingPolicyContractTests
{
    private const int MillionTasks = 1_000_000;

    protected abstract ISchedulingPolicy CreatePolicy();

    [Test]
    public void Count_NewPolicy_IsZero()
    {
        var policy = CreatePolicy();

        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void TryDequeue_EmptyQueue_ReturnsFalseAndNoTask()
    {
        var policy = CreatePolicy();

        var dequeued = policy.TryDequeue(out var task);

        Assert.That(dequeued, Is.False);
        Assert.That(task, Is.Null);
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void Remove_EmptyQueue_ReturnsFalse()
    {
        var policy = CreatePolicy();

        Assert.That(policy.Remove(PolicyTasks.CreateMixed(0)), Is.False);
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void Enqueue_OneTask_CountIsOne()
    {
        var policy = CreatePolicy();

        policy.Enqueue(PolicyTasks.CreateMixed(1));

        Assert.That(policy.Count, Is.EqualTo(1));
    }

    [Test]
    public void TryDequeue_OneTask_ReturnsItThenQueueIsEmpty()
    {
        var policy = CreatePolicy();
        var task = PolicyTasks.CreateMixed(2);
        policy.Enqueue(task);

        var first = policy.TryDequeue(out var dequeued);
        var second = policy.TryDequeue(out var none);

        Assert.That(first, Is.True);
        Assert.That(dequeued, Is.SameAs(task));
        Assert.That(second, Is.False);
        Assert.That(none, Is.Null);
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void TryDequeue_ManyMixedTasks_ReturnsEachExactlyOnce()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(600);
        EnqueueAll(policy, tasks);

        var dequeued = Drain(policy);

        AssertSameTasks(dequeued, tasks);
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void TryDequeue_DefaultOptionsOnly_ReturnsEachExactlyOnce()
    {
        var policy = CreatePolicy();
        var tasks = Enumerable.Range(0, 100).Select(_ => PolicyTasks.Create()).ToArray();
        EnqueueAll(policy, tasks);

        var dequeued = Drain(policy);

        AssertSameTasks(dequeued, tasks);
    }

    [Test]
    public void Count_AfterEachOperation_IsNumberOfQueuedTasks()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(40);
        var expected = 0;

        foreach (var task in tasks)
        {
            policy.Enqueue(task);
            expected++;
            Assert.That(policy.Count, Is.EqualTo(expected), "after enqueue");
        }

        for (var i = 0; i < tasks.Length; i += 4)
        {
            Assert.That(policy.Remove(tasks[i]), Is.True);
            expected--;
            Assert.That(policy.Count, Is.EqualTo(expected), "after remove");
        }

        for (var i = 0; i < tasks.Length; i += 4)
        {
            Assert.That(policy.Remove(tasks[i]), Is.False);
            Assert.That(policy.Count, Is.EqualTo(expected), "after a remove that found nothing");
        }

        while (expected > 0)
        {
            Assert.That(policy.TryDequeue(out _), Is.True);
            expected--;
            Assert.That(policy.Count, Is.EqualTo(expected), "after dequeue");
        }

        Assert.That(policy.TryDequeue(out _), Is.False);
        Assert.That(policy.Count, Is.Zero, "after a dequeue that found nothing");
    }

    [Test]
    public void Remove_QueuedTasks_NeverDequeuedAndCountDrops()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(300);
        EnqueueAll(policy, tasks);

        // The first and last enqueued, and every third in between: heads, tails and middles of every heap, band and key.
        var removed = tasks.Where((_, i) => i % 3 == 0 || i == tasks.Length - 1).ToArray();
        foreach (var task in removed)
        {
            Assert.That(policy.Remove(task), Is.True, $"removing {task.Id}");
        }

        Assert.That(policy.Count, Is.EqualTo(tasks.Length - removed.Length));
        var dequeued = Drain(policy);
        AssertSameTasks(dequeued, tasks.Except(removed));
    }

    [Test]
    public void Remove_TasksThatWouldRunNext_NeverDequeued()
    {
        // Learn the order from a first instance, then remove the heads of that order from a second one fed alike.
        var tasks = CreateMixedTasks(200);
        var probe = CreatePolicy();
        EnqueueAll(probe, tasks);
        var order = Drain(probe);
        var policy = CreatePolicy();
        EnqueueAll(policy, tasks);

        var heads = order.Take(3).ToArray();
        foreach (var head in heads)
        {
            Assert.That(policy.Remove(head), Is.True, $"removing {head.Id}");
        }

        Assert.That(policy.Count, Is.EqualTo(tasks.Length - heads.Length));
        AssertSameTasks(Drain(policy), tasks.Except(heads));
    }

    [Test]
    public void TryDequeue_AlternatingWithRemoveOfOldest_NeverReturnsRemovedTask()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(200);
        EnqueueAll(policy, tasks);

        // Alternate: take the next task, then remove whichever queued task was enqueued earliest.
        var queued = new List<TaskHandle>(tasks);
        while (queued.Count > 0)
        {
            Assert.That(policy.TryDequeue(out var next), Is.True);
            Assert.That(queued.Remove(next!), Is.True, $"{next} was dequeued but is not queued");
            if (queued.Count > 0)
            {
                var victim = queued[0];
                queued.RemoveAt(0);
                Assert.That(policy.Remove(victim), Is.True, $"removing {victim.Id}");
            }

            Assert.That(policy.Count, Is.EqualTo(queued.Count));
        }

        Assert.That(policy.TryDequeue(out _), Is.False);
    }

    [Test]
    public void Remove_AllQueuedTasks_QueueIsEmptyAndUsableAgain()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(100);
        EnqueueAll(policy, tasks);

        foreach (var task in tasks.Reverse())
        {
            Assert.That(policy.Remove(task), Is.True);
        }

        Assert.That(policy.Count, Is.Zero);
        Assert.That(policy.TryDequeue(out _), Is.False);

        var more = CreateMixedTasks(50);
        EnqueueAll(policy, more);
        AssertSameTasks(Drain(policy), more);
    }

    [Test]
    public void Remove_SameTaskTwice_SecondReturnsFalse()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(10);
        EnqueueAll(policy, tasks);

        var first = policy.Remove(tasks[4]);
        var second = policy.Remove(tasks[4]);

        Assert.That(first, Is.True);
        Assert.That(second, Is.False);
        Assert.That(policy.Count, Is.EqualTo(9));
        AssertSameTasks(Drain(policy), tasks.Where((_, i) => i != 4));
    }

    [Test]
    public void Remove_UnknownTask_ReturnsFalseAndChangesNothing()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(30);
        EnqueueAll(policy, tasks);

        // Strangers that share every option with queued tasks: same band, same fairness key, same kind.
        foreach (var stranger in CreateMixedTasks(30).Append(PolicyTasks.Create()))
        {
            Assert.That(policy.Remove(stranger), Is.False, $"removing stranger {stranger.Id}");
        }

        Assert.That(policy.Count, Is.EqualTo(tasks.Length));
        AssertSameTasks(Drain(policy), tasks);
    }

    [Test]
    public void Remove_TaskQueuedInAnotherInstance_ReturnsFalseAndChangesNeither()
    {
        var policy = CreatePolicy();
        var other = CreatePolicy();
        var mine = CreateMixedTasks(20);
        var theirs = CreateMixedTasks(20);
        EnqueueAll(policy, mine);
        EnqueueAll(other, theirs);

        foreach (var task in theirs)
        {
            Assert.That(policy.Remove(task), Is.False, $"removing {task.Id} of the other instance");
        }

        Assert.That(policy.Count, Is.EqualTo(mine.Length));
        Assert.That(other.Count, Is.EqualTo(theirs.Length));
        AssertSameTasks(Drain(policy), mine);
        AssertSameTasks(Drain(other), theirs);
    }

    [Test]
    public void Remove_DequeuedTask_ReturnsFalse()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(10);
        EnqueueAll(policy, tasks);
        Assert.That(policy.TryDequeue(out var dequeued), Is.True);

        var removed = policy.Remove(dequeued!);

        Assert.That(removed, Is.False);
        Assert.That(policy.Count, Is.EqualTo(9));
        AssertSameTasks(Drain(policy), tasks.Where(t => !ReferenceEquals(t, dequeued)));
    }

    [Test]
    public void Enqueue_RemovedTaskAgain_DequeuedExactlyOnce()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(20);
        EnqueueAll(policy, tasks);

        foreach (var index in new[] { 0, 7, 19 })
        {
            Assert.That(policy.Remove(tasks[index]), Is.True);
            policy.Enqueue(tasks[index]);
        }

        Assert.That(policy.Count, Is.EqualTo(20));
        var dequeued = Drain(policy);
        AssertSameTasks(dequeued, tasks);
    }

    [Test]
    public void Enqueue_RemovedTaskAgain_CanBeRemovedAgain()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(5);
        EnqueueAll(policy, tasks);

        Assert.That(policy.Remove(tasks[2]), Is.True);
        policy.Enqueue(tasks[2]);
        Assert.That(policy.Remove(tasks[2]), Is.True);
        Assert.That(policy.Remove(tasks[2]), Is.False);

        Assert.That(policy.Count, Is.EqualTo(4));
        AssertSameTasks(Drain(policy), tasks.Where((_, i) => i != 2));
    }

    [Test]
    public void Enqueue_DequeuedTaskAgain_DequeuedAgain()
    {
        // A task that is retried goes back into the queue after it was handed out.
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(10);
        EnqueueAll(policy, tasks);
        Assert.That(policy.TryDequeue(out var first), Is.True);

        policy.Enqueue(first!);

        Assert.That(policy.Count, Is.EqualTo(10));
        var dequeued = Drain(policy);
        AssertSameTasks(dequeued, tasks);
    }

    [Test]
    public void Enqueue_TaskAlreadyQueued_ThrowsInvalidOperationException()
    {
        var policy = CreatePolicy();
        var task = PolicyTasks.CreateMixed(3);
        policy.Enqueue(task);

        Assert.Throws<InvalidOperationException>(() => policy.Enqueue(task));
    }

    [Test]
    public void Enqueue_TaskAlreadyQueued_LeavesQueueUnchanged()
    {
        var policy = CreatePolicy();
        var tasks = CreateMixedTasks(12);
        EnqueueAll(policy, tasks);

        foreach (var task in new[] { tasks[0], tasks[5], tasks[11] })
        {
            Assert.Throws<InvalidOperationException>(() => policy.Enqueue(task));
        }

        Assert.That(policy.Count, Is.EqualTo(tasks.Length));
        var dequeued = Drain(policy);
        AssertSameTasks(dequeued, tasks);
    }

    [Test]
    public void Enqueue_AfterQueueDrained_WorksAgain()
    {
        var policy = CreatePolicy();
        var first = CreateMixedTasks(25);
        EnqueueAll(policy, first);
        AssertSameTasks(Drain(policy), first);

        var second = CreateMixedTasks(25);
        EnqueueAll(policy, second);

        Assert.That(policy.Count, Is.EqualTo(25));
        AssertSameTasks(Drain(policy), second);
    }

    [Test]
    public void TryDequeue_InterleavedWithEnqueueAndRemove_EachTaskExactlyOnce()
    {
        var policy = CreatePolicy();
        var random = new Random(20_250_101);
        var queued = new TaskBag();
        var finished = new HashSet<TaskHandle>(ReferenceEqualityComparer.Instance);
        var everEnqueued = 0;
        var index = 0;

        for (var step = 0; step < 40_000; step++)
        {
            // Phases in which the queue grows and in which it drains, through empty, so that bands and keys come and go.
            var enqueueChance = step / 2_000 % 2 == 0 ? 55 : 25;
            var roll = random.Next(100);
            if (roll < enqueueChance)
            {
                var burst = random.Next(1, 4);
                for (var i = 0; i < burst; i++)
                {
                    var task = PolicyTasks.CreateMixed(index++);
                    policy.Enqueue(task);
                    queued.Add(task);
                    everEnqueued++;
                }
            }
            else if (roll < 85)
            {
                var dequeued = policy.TryDequeue(out var task);
                if (queued.Count == 0)
                {
                    if (dequeued)
                    {
                        Assert.Fail($"step {step}: dequeued {task} from an empty queue");
                    }
                }
                else if (!dequeued || !queued.Remove(task!))
                {
                    Assert.Fail($"step {step}: expected one of {queued.Count} queued tasks, got {(dequeued ? task!.ToString() : "nothing")}");
                }
                else
                {
                    finished.Add(task!);
                }
            }
            else if (queued.Count > 0)
            {
                var victim = queued.Pick(random);
                if (!policy.Remove(victim))
                {
                    Assert.Fail($"step {step}: removing queued task {victim} returned false");
                }

                queued.Remove(victim);
                if (random.Next(3) == 0)
                {
                    // Cancelled, then enqueued again under the same handle: it must come out once, at its new place.
                    policy.Enqueue(victim);
                    queued.Add(victim);
                }
                else
                {
                    finished.Add(victim);
                }
            }

            if (policy.Count != queued.Count)
            {
                Assert.Fail($"step {step}: Count is {policy.Count}, expected {queued.Count}");
            }
        }

        var rest = Drain(policy);
        Assert.That(rest, Has.Count.EqualTo(queued.Count));
        Assert.That(rest.All(queued.Remove), Is.True, "the final drain returned a task that was not queued");
        Assert.That(finished.Count + rest.Count, Is.EqualTo(everEnqueued));
    }

    [Test]
    public void TryDequeue_MillionTasks_EachExactlyOnce()
    {
        var policy = CreatePolicy();
        var tasks = new TaskHandle[MillionTasks];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = PolicyTasks.CreateMixed(i, id: "bulk");
            policy.Enqueue(tasks[i]);
        }

        Assert.That(policy.Count, Is.EqualTo(MillionTasks));

        // Plain checks in the loop: a million constraint evaluations would dominate the run time.
        var outstanding = new HashSet<TaskHandle>(tasks, ReferenceEqualityComparer.Instance);
        var dequeuedCount = 0;
        while (policy.TryDequeue(out var task))
        {
            dequeuedCount++;
            if (!outstanding.Remove(task))
            {
                Assert.Fail($"Dequeue #{dequeuedCount} returned a task that was not queued, or was already dequeued: seq {task.SequenceNumber}.");
            }
        }

        Assert.That(dequeuedCount, Is.EqualTo(MillionTasks));
        Assert.That(outstanding, Is.Empty);
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void Enqueue_Null_ThrowsArgumentNullException()
    {
        var policy = CreatePolicy();

        Assert.Throws<ArgumentNullException>(() => policy.Enqueue(null!));
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void Remove_Null_ThrowsArgumentNullException()
    {
        var policy = CreatePolicy();
        policy.Enqueue(PolicyTasks.CreateMixed(4));

        Assert.Throws<ArgumentNullException>(() => policy.Remove(null!));
        Assert.That(policy.Count, Is.EqualTo(1));
    }

    /// <summary>Asserts that <paramref name="actual"/> holds exactly the tasks of <paramref name="expected"/>, each exactly
    /// once, by reference and in any order (NUnit's equivalence is quadratic).</summary>
    private static void AssertSameTasks(IEnumerable<TaskHandle> actual, IEnumerable<TaskHandle> expected)
    {
        var outstanding = new Dictionary<TaskHandle, int>(ReferenceEqualityComparer.Instance);
        foreach (var task in expected)
        {
            outstanding[task] = outstanding.GetValueOrDefault(task) + 1;
        }

        var extra = new List<TaskHandle>();
        foreach (var task in actual)
        {
            if (outstanding.TryGetValue(task, out var count) && count > 0)
            {
                outstanding[task] = count - 1;
            }
            else
            {
                extra.Add(task);
            }
        }

        var missing = outstanding.Where(pair => pair.Value > 0).Select(pair => pair.Key).ToList();
        Assert.That(extra, Is.Empty, "tasks returned that were not queued, or returned more than once");
        Assert.That(missing, Is.Empty, "queued tasks never returned");
    }

    private static TaskHandle[] CreateMixedTasks(int count)
    {
        var tasks = new TaskHandle[count];
        for (var i = 0; i < count; i++)
        {
            tasks[i] = PolicyTasks.CreateMixed(i);
        }

        return tasks;
    }

    private static void EnqueueAll(ISchedulingPolicy policy, IEnumerable<TaskHandle> tasks)
    {
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }
    }

    private static List<TaskHandle> Drain(ISchedulingPolicy policy)
    {
        var result = new List<TaskHandle>();
        while (policy.TryDequeue(out var task))
        {
            result.Add(task);
            if (result.Count > 10_000_000)
            {
                Assert.Fail("The policy keeps returning tasks: more than were ever enqueued.");
            }
        }

        return result;
    }

    /// <summary>The queued tasks of the reference model: membership, removal and a random pick, each O(1).</summary>
    private sealed class TaskBag
    {
        private readonly List<TaskHandle> _items = [];
        private readonly Dictionary<TaskHandle, int> _positions = new(ReferenceEqualityComparer.Instance);

        public int Count => _items.Count;

        public void Add(TaskHandle task)
        {
            _positions.Add(task, _items.Count);
            _items.Add(task);
        }

        public bool Remove(TaskHandle task)
        {
            if (!_positions.Remove(task, out var position))
            {
                return false;
            }

            var last = _items[^1];
            _items.RemoveAt(_items.Count - 1);
            if (!ReferenceEquals(last, task))
            {
                _items[position] = last;
                _positions[last] = position;
            }

            return true;
        }

        public TaskHandle Pick(Random random) => _items[random.Next(_items.Count)];
    }
}
