using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Scheduling;

/// <summary>The chunked storage under the built-in queues, across the chunk boundaries that the policies' small property
/// tests never reach.</summary>
[TestFixture]
public sealed class ChunkedStorageTests
{
    [Test]
    public void ChunkLength_IsAPowerOfTwoThatKeepsAChunkOffTheLargeObjectHeap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ChunkedArray<(TaskHandle, long)>.ChunkLength, Is.EqualTo(4096));
            Assert.That(ChunkedArray<long>.ChunkLength, Is.EqualTo(8192));
            Assert.That(ChunkedArray<(long, long, long, long, long)>.ChunkLength * 40, Is.LessThan(85_000));
        });
    }

    [Test]
    public void ChunkedArray_GrownOverSeveralChunks_KeepsEveryElementAndClearsAcrossABoundary()
    {
        var array = new ChunkedArray<long>();
        var length = ChunkedArray<long>.ChunkLength;
        while (array.Capacity < (3 * length) + 1)
        {
            // Growing never loses what is already there.
            var before = array.Capacity;
            for (var i = 0; i < before; i++)
            {
                array[i] = i + 1;
            }

            array.Grow();
            Assert.That(Enumerable.Range(0, before).All(i => array[i] == i + 1), Is.True, $"after growing from {before}");
        }

        array.Clear(length - 5, 10);

        Assert.Multiple(() =>
        {
            Assert.That(array.Capacity, Is.EqualTo(4 * length));
            Assert.That(array[length - 6], Is.EqualTo(length - 5));
            Assert.That(Enumerable.Range(length - 5, 10).All(i => array[i] == 0), Is.True);
            Assert.That(array[length + 5], Is.EqualTo(length + 6));
        });
    }

    [Test]
    public void ChunkedQueue_RandomEnqueuesAndDequeuesOverManyChunks_BehavesAsAQueue()
    {
        var random = new Random(20261201);
        // Entries of 16 bytes, as FCFS keeps: 4,096 to a full chunk, which the fill phases go well past.
        var queue = new ChunkedQueue<(long, long)>();
        var model = new Queue<(long, long)>();
        var next = 0L;
        for (var step = 0; step < 120_000; step++)
        {
            // Phases that mostly fill (to about 12,000 entries) then mostly drain, so that the queue grows to full chunks,
            // crosses chunks both ways, reuses its spare chunk and empties at times.
            var filling = step / 30_000 % 2 == 0;
            if (random.Next(10) < (filling ? 7 : 3))
            {
                queue.Enqueue((next, -next));
                model.Enqueue((next, -next));
                next++;
            }
            else
            {
                var dequeued = queue.TryDequeue(out var item);
                Assert.That(dequeued, Is.EqualTo(model.TryDequeue(out var expected)), $"step {step}");
                Assert.That(item, Is.EqualTo(expected), $"step {step}");
            }

            Assert.That(queue.Count, Is.EqualTo(model.Count), $"step {step}");
        }

        while (model.TryDequeue(out var expected))
        {
            Assert.That(queue.TryDequeue(out var item) && item == expected, Is.True);
        }

        Assert.That(queue.TryDequeue(out _), Is.False);
    }

    [Test]
    public void ShortestJobFirst_TenThousandTasksWithRemovals_DequeuesByEstimateThenArrival()
    {
        var random = new Random(7);
        var policy = SchedulingPolicy.ShortestJobFirst();
        var tasks = Enumerable.Range(0, 10_000)
            .Select(i => Tasks.Create(options: new TaskOptions { EstimatedDuration = TimeSpan.FromMilliseconds(random.Next(1, 500)) }))
            .ToArray();
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }

        // Two tasks of three are removed: past half the heap, which makes it compact its stale entries across chunks.
        var removed = tasks.Where((_, i) => i % 3 != 0).ToHashSet();
        foreach (var task in removed)
        {
            Assert.That(policy.Remove(task), Is.True);
        }

        var order = new List<TaskHandle>();
        while (policy.TryDequeue(out var task))
        {
            order.Add(task);
        }

        var expected = tasks.Where(task => !removed.Contains(task)).OrderBy(task => task.Options.EstimatedDuration).ToArray();
        Assert.That(order, Is.EqualTo(expected));
    }

    [Test]
    public void FirstComeFirstServed_TenThousandTasksWithRemovals_DequeuesTheRestInArrivalOrder()
    {
        var policy = SchedulingPolicy.FirstComeFirstServed();
        var tasks = Enumerable.Range(0, 10_000).Select(_ => Tasks.Create()).ToArray();
        foreach (var task in tasks)
        {
            policy.Enqueue(task);
        }

        // Three tasks of four are removed: past half the queue, which makes it compact across chunks.
        foreach (var task in tasks.Where((_, i) => i % 4 != 0))
        {
            Assert.That(policy.Remove(task), Is.True);
        }

        var order = new List<TaskHandle>();
        while (policy.TryDequeue(out var task))
        {
            order.Add(task);
        }

        Assert.That(order, Is.EqualTo(tasks.Where((_, i) => i % 4 == 0)));
    }
}
