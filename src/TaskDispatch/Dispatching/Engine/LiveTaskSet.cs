namespace TaskDispatch;

/// <summary>Every live task, without a key: striped arrays with O(1) add and swap-remove, so that a task costs one
/// uncontended lock on its way in and one on its way out, and no allocation. For what must reach every live task (a stop,
/// a fault) and for the rare lookup of a generated id, which scans.</summary>
internal sealed class LiveTaskSet
{
    private const int IndexBits = 24;
    private const int IndexMask = (1 << IndexBits) - 1;

    private readonly Stripe[] _stripes;
    private readonly int _stripeMask;

    internal LiveTaskSet()
    {
        var count = (int)Math.Min(256, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount * 2));
        _stripes = new Stripe[count];
        for (var i = 0; i < count; i++)
        {
            _stripes[i] = new Stripe();
        }

        _stripeMask = count - 1;
    }

    /// <summary>Adds a task to the stripe of the calling thread, and tells the task where it is.</summary>
    internal void Add(TaskHandle task)
    {
        var stripeIndex = Environment.CurrentManagedThreadId & _stripeMask;
        var stripe = _stripes[stripeIndex];
        lock (stripe.Lock)
        {
            if (stripe.Count == stripe.Items.Length)
            {
                if (stripe.Count == IndexMask)
                {
                    throw new InvalidOperationException("Too many live tasks in one stripe.");
                }

                Array.Resize(ref stripe.Items, stripe.Items.Length * 2);
            }

            task.LivePosition = (stripeIndex << IndexBits) | stripe.Count;
            stripe.Items[stripe.Count++] = task;
        }
    }

    /// <summary>Removes a task added before; the last task of its stripe takes its place.</summary>
    internal void Remove(TaskHandle task)
    {
        var position = task.LivePosition;
        if (position < 0)
        {
            return;
        }

        var stripe = _stripes[position >> IndexBits];
        lock (stripe.Lock)
        {
            // Read again under the lock: a removal of another task may have moved this one.
            position = task.LivePosition;
            var index = position & IndexMask;
            var last = --stripe.Count;
            var moved = stripe.Items[last]!;
            stripe.Items[index] = moved;
            moved.LivePosition = (position & ~IndexMask) | index;
            stripe.Items[last] = null;
            task.LivePosition = -1;
        }
    }

    /// <summary>Copies the live tasks now.</summary>
    internal List<TaskHandle> Snapshot()
    {
        var tasks = new List<TaskHandle>();
        foreach (var stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                for (var i = 0; i < stripe.Count; i++)
                {
                    tasks.Add(stripe.Items[i]!);
                }
            }
        }

        return tasks;
    }

    /// <summary>Finds a live task by a predicate, scanning; for rare lookups only.</summary>
    internal TaskHandle? Find<TState>(Func<TaskHandle, TState, bool> match, TState state)
    {
        foreach (var stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                for (var i = 0; i < stripe.Count; i++)
                {
                    if (match(stripe.Items[i]!, state))
                    {
                        return stripe.Items[i];
                    }
                }
            }
        }

        return null;
    }

    /// <summary>One stripe: its lock, its tasks and their count.</summary>
    private sealed class Stripe
    {
        public readonly Lock Lock = new();
        public TaskHandle?[] Items = new TaskHandle?[16];
        public int Count;
    }
}
