using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

[TestFixture]
public sealed class FirstComeFirstServedPolicyTests
{
    [Test]
    public void TryDequeue_Empty_ReturnsFalse()
    {
        var policy = new FirstComeFirstServedPolicy();

        Assert.That(policy.TryDequeue(out _), Is.False);
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void TryDequeue_SeveralTasks_ReturnsArrivalOrder()
    {
        var policy = new FirstComeFirstServedPolicy();
        var tasks = Enumerable.Range(0, 5).Select(_ => Tasks.Create()).ToArray();
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }

        var order = Drain(policy);

        Assert.That(order, Is.EqualTo(tasks));
        Assert.That(policy.Count, Is.Zero);
    }

    [Test]
    public void Remove_QueuedTask_IsNeverDequeuedAndCountDrops()
    {
        var policy = new FirstComeFirstServedPolicy();
        var tasks = Enumerable.Range(0, 4).Select(_ => Tasks.Create()).ToArray();
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }

        Assert.That(policy.Remove(tasks[1]), Is.True);
        Assert.That(policy.Remove(tasks[1]), Is.False);
        Assert.That(policy.Count, Is.EqualTo(3));
        Assert.That(Drain(policy), Is.EqualTo(new[] { tasks[0], tasks[2], tasks[3] }));
    }

    [Test]
    public void Remove_UnknownTask_ReturnsFalse()
    {
        var policy = new FirstComeFirstServedPolicy();
        policy.Enqueue(Tasks.Create());

        Assert.That(policy.Remove(Tasks.Create()), Is.False);
        Assert.That(policy.Count, Is.EqualTo(1));
    }

    [Test]
    public void Enqueue_RemovedThenEnqueuedAgain_DequeuedOnceAtItsNewPlace()
    {
        var policy = new FirstComeFirstServedPolicy();
        var a = Tasks.Create();
        var b = Tasks.Create();
        policy.Enqueue(a);
        policy.Enqueue(b);

        policy.Remove(a);
        policy.Enqueue(a);

        Assert.That(Drain(policy), Is.EqualTo(new[] { b, a }));
    }

    [Test]
    public void Enqueue_SameTaskTwice_Throws()
    {
        var policy = new FirstComeFirstServedPolicy();
        var task = Tasks.Create();
        policy.Enqueue(task);

        Assert.Throws<InvalidOperationException>(() => policy.Enqueue(task));
    }

    [Test]
    public void Remove_ManyBehindHead_DeadEntriesAreReclaimed()
    {
        var policy = new FirstComeFirstServedPolicy();
        var head = Tasks.Create();
        policy.Enqueue(head);
        var removed = Enumerable.Range(0, 10_000).Select(_ => Tasks.Create()).ToArray();
        foreach (var task in removed)
        {
            policy.Enqueue(task);
        }

        foreach (var task in removed)
        {
            Assert.That(policy.Remove(task), Is.True);
        }

        Assert.That(policy.Count, Is.EqualTo(1));
        Assert.That(Drain(policy), Is.EqualTo(new[] { head }));
    }

    private static List<TaskHandle> Drain(ISchedulingPolicy policy)
    {
        var result = new List<TaskHandle>();
        while (policy.TryDequeue(out var task))
        {
            result.Add(task);
        }

        return result;
    }
}
