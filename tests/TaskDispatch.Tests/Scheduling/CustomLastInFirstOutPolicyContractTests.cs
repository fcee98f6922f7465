using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>The scheduling-policy contract for a policy written only against the public API, with the same O(1) removal
/// the built-ins have: it keeps its own slot in <see cref="TaskHandle.QueuePosition"/> and <see cref="TaskHandle.QueueOwner"/>.</summary>
[TestFixture]
public sealed class CustomLastInFirstOutPolicyContractTests : SchedulingPolicyContractTests
{
    protected override ISchedulingPolicy CreatePolicy() => new LastInFirstOutPolicy();

    [Test]
    public void TryDequeue_ThreeTasksMiddleRemoved_NewestFirstWithoutTheRemovedOne()
    {
        var policy = new LastInFirstOutPolicy();
        var tasks = Enumerable.Range(0, 3).Select(static _ => Support.Tasks.Create()).ToArray();
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }

        Assert.That(policy.Remove(tasks[1]), Is.True);
        Assert.That(policy.Remove(tasks[1]), Is.False, "already removed");

        Assert.That(policy.TryDequeue(out var first), Is.True);
        Assert.That(policy.TryDequeue(out var second), Is.True);
        Assert.That(new[] { first, second }, Is.EqualTo(new[] { tasks[2], tasks[0] }));
        Assert.That(policy.Count, Is.Zero);
        Assert.That(tasks.Select(static t => t.QueuePosition), Is.All.EqualTo(-1));
    }

    /// <summary>Newest first. Removal marks the entry stale in O(1) through the task's queue slot; a dequeue skips stale
    /// entries, and the stack is compacted when stale entries outnumber live ones.</summary>
    private sealed class LastInFirstOutPolicy : ISchedulingPolicy
    {
        private readonly List<(TaskHandle Task, long Stamp)> _stack = [];
        private long _nextStamp;

        public int Count { get; private set; }

        public void Enqueue(TaskHandle task)
        {
            ArgumentNullException.ThrowIfNull(task);
            if (task.QueuePosition >= 0)
            {
                throw new InvalidOperationException($"Task '{task.Id}' is already queued.");
            }

            task.QueuePosition = _nextStamp++;
            task.QueueOwner = this;
            _stack.Add((task, task.QueuePosition));
            Count++;
        }

        public bool TryDequeue([MaybeNullWhen(false)] out TaskHandle task)
        {
            while (_stack.Count > 0)
            {
                var (candidate, stamp) = _stack[^1];
                _stack.RemoveAt(_stack.Count - 1);
                if (IsLive(candidate, stamp))
                {
                    Release(candidate);
                    task = candidate;
                    return true;
                }
            }

            task = null;
            return false;
        }

        public bool Remove(TaskHandle task)
        {
            ArgumentNullException.ThrowIfNull(task);
            if (task.QueuePosition < 0 || !ReferenceEquals(task.QueueOwner, this))
            {
                return false;
            }

            Release(task);
            if (_stack.Count > 2 * Count + 16)
            {
                _stack.RemoveAll(entry => !IsLive(entry.Task, entry.Stamp));
            }

            return true;
        }

        private bool IsLive(TaskHandle task, long stamp) => task.QueuePosition == stamp && ReferenceEquals(task.QueueOwner, this);

        private void Release(TaskHandle task)
        {
            task.QueuePosition = -1;
            task.QueueOwner = null;
            Count--;
        }
    }
}
