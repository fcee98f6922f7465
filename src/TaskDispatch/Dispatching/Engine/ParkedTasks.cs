namespace TaskDispatch;

/// <summary>What the parked tasks need of the scheduler that owns them.</summary>
internal interface IParkedTaskPlacement
{
    /// <summary>Gets whether any node has a free slot.</summary>
    bool HasFreeSlots { get; }

    /// <summary>Takes a parked task out if it can go: it has ended, its deadline passed (it is failed), or a node takes it
    /// now (it is placed).</summary>
    bool TryTakeParked(TaskHandle task);

    /// <summary>Fails the task when no node left could ever run it; returns whether it is gone.</summary>
    bool FailIfNoNodeCanEverRun(TaskHandle task);
}

/// <summary>The tasks a scheduler step dequeued that no node could take then, tried again in the order they were dequeued
/// (the scheduling policy's) when slots free. Tasks that only some nodes could ever run (a required node, tags,
/// resources) are grouped by that set of nodes, and a group is looked at only while one of its nodes offers a slot: none
/// of its tasks could start otherwise. With one list, every freed slot looked at every parked task, so tasks that only a
/// busy node could run, while another node idled, cost time in proportion to how many waited (80-220 µs a task instead
/// of 1-5 µs, measured). The other tasks (no constraint, or a deadline each scan must check) are in one list that
/// every scan walks. A scan merges the lists it walks by the
/// order the tasks were dequeued in. Only scheduler steps use it, one at a time.</summary>
internal sealed class ParkedTasks(NodeSet nodes, bool failExpiredDeadlines)
{
    /// <summary>The tasks every scan walks, in the order they were dequeued.</summary>
    private readonly List<Entry> _walked = [];

    /// <summary>The groups, by the set of nodes that could run their tasks (bit i: node i of <see cref="_numbering"/>).</summary>
    private readonly Dictionary<NodeMask, Group> _groups = [];

    /// <summary>The groups a scan walks; reused.</summary>
    private readonly List<Group> _scanning = [];

    /// <summary>The node array the sets number, as of the last regrouping.</summary>
    private NodeRuntime[] _numbering = [];

    /// <summary>The last dequeue-order number given.</summary>
    private long _sequence;

    /// <summary>How many tasks the groups hold in all.</summary>
    private int _grouped;

    /// <summary>Gets how many tasks are parked.</summary>
    internal int Count => _walked.Count + _grouped;

    /// <summary>Parks a task that no node took.</summary>
    internal void Add(TaskHandle task, IParkedTaskPlacement placement)
    {
        task.Location = TaskLocation.Parked;
        if (!ReferenceEquals(nodes.Runtimes, _numbering))
        {
            // A node came or went and its event may still be on its way: the sets must number the nodes as they are now.
            Regroup(placement);
        }

        Add(new Entry(++_sequence, task));
    }

    /// <summary>How many parked tasks ended since the last pass that dropped the ended ones; an upper bound of how many
    /// are still here, since scans and regroupings drop ended tasks too.</summary>
    private int _ended;

    /// <summary>Notes that a parked task ended. It stays where it is: a scan drops an ended task, and once the tasks that
    /// ended could be more than half of those parked, one pass over every list drops them. Taking each one out at once
    /// cost a search and a shift of its list per task: cancelling 80,000 tasks that waited for a busy node took 9x as
    /// long as 20,000.</summary>
    internal void Remove(TaskHandle task)
    {
        if (++_ended > MinEndedToDrop && _ended * 2 > Count)
        {
            DropEnded();
        }
    }

    /// <summary>Takes every ended task out of every list, keeping the others in order, and the groups left empty.</summary>
    private void DropEnded()
    {
        _walked.RemoveAll(static entry => Dropped(entry.Task));
        foreach (var (set, group) in _groups)
        {
            _grouped -= group.DropEnded();
            if (group.Entries.Count == 0)
            {
                // Removing while enumerating a Dictionary is allowed: it does not invalidate the enumerator.
                _groups.Remove(set);
            }
        }

        _ended = 0;
    }

    /// <summary>Whether a pass over a list drops the task: it ended. It is then no longer parked, so that its removal, if
    /// still on its way, does nothing.</summary>
    private static bool Dropped(TaskHandle task)
    {
        if (!task.IsFinished)
        {
            return false;
        }

        task.Location = TaskLocation.None;
        return true;
    }

    /// <summary>Below this many ended tasks a list is left to the scans.</summary>
    private const int MinEndedToDrop = 64;

    /// <summary>After nodes came, went or changed health: fails the tasks no node left could run, and groups the others
    /// by the current nodes.</summary>
    internal void OnNodesChanged(IParkedTaskPlacement placement)
    {
        // One pass that keeps the others in order: a removal each would shift the list each time.
        var kept = 0;
        for (var i = 0; i < _walked.Count; i++)
        {
            var entry = _walked[i];
            if (entry.Task.IsFinished || placement.FailIfNoNodeCanEverRun(entry.Task))
            {
                entry.Task.Location = TaskLocation.None;
                continue;
            }

            _walked[kept++] = entry;
        }

        _walked.RemoveRange(kept, _walked.Count - kept);

        Regroup(placement);
    }

    /// <summary>Places what it can, in the order the tasks were dequeued, while slots are free; walks every task of the
    /// walked list (deadlines), and a group only while one of its nodes offers a slot.</summary>
    internal void Dispatch(IParkedTaskPlacement placement)
    {
        if (_grouped > 0 && !ReferenceEquals(nodes.Runtimes, _numbering))
        {
            Regroup(placement);
        }

        _scanning.Clear();
        if (_grouped > 0)
        {
            foreach (var group in _groups.Values)
            {
                if (group.Head < group.Entries.Count && AnyOffersASlot(group.Nodes))
                {
                    group.BeginScan();
                    _scanning.Add(group);
                }
            }
        }

        var walked = 0;
        var kept = 0;
        while (true)
        {
            // The next task in dequeue order among the walked list and the groups still open.
            var next = walked < _walked.Count ? _walked[walked].Sequence : long.MaxValue;
            Group? from = null;
            foreach (var group in _scanning)
            {
                if (group.Open && group.Cursor < group.Entries.Count && group.Entries[group.Cursor].Sequence < next)
                {
                    next = group.Entries[group.Cursor].Sequence;
                    from = group;
                }
            }

            if (from is not null)
            {
                if (!placement.HasFreeSlots || !AnyOffersASlot(from.Nodes))
                {
                    // None of its nodes offers a slot any more: none of its tasks can start, the rest is not looked at.
                    from.Open = false;
                    continue;
                }

                var task = from.Entries[from.Cursor].Task;
                if (placement.TryTakeParked(task))
                {
                    task.Location = TaskLocation.None;
                }
                else
                {
                    from.Keep();
                }

                from.Cursor++;
                continue;
            }

            if (next == long.MaxValue)
            {
                break;
            }

            var entry = _walked[walked++];
            if (placement.TryTakeParked(entry.Task))
            {
                entry.Task.Location = TaskLocation.None;
                continue;
            }

            if (kept != walked - 1)
            {
                _walked[kept] = entry;
            }

            kept++;
        }

        _walked.RemoveRange(kept, _walked.Count - kept);
        foreach (var group in _scanning)
        {
            _grouped -= group.EndScan();
            if (group.Entries.Count == 0)
            {
                _groups.Remove(group.Nodes);
            }
        }
    }

    private void Add(Entry entry)
    {
        if (NodesThatCouldRun(entry.Task) is not { } set)
        {
            // In dequeue order: a task regrouped here is older than the tasks parked since.
            var index = _walked.Count;
            while (index > 0 && _walked[index - 1].Sequence > entry.Sequence)
            {
                index--;
            }

            _walked.Insert(index, entry);
            return;
        }

        if (!_groups.TryGetValue(set, out var group))
        {
            _groups[set] = group = new Group(set);
        }

        group.Entries.Add(entry);
        _grouped++;
    }

    /// <summary>Groups the tasks again by the current nodes (the sets number nodes by their place in the node array, which
    /// changes when one is added or removed), failing those no node left could run.</summary>
    private void Regroup(IParkedTaskPlacement placement)
    {
        var current = nodes.Runtimes;
        if (ReferenceEquals(current, _numbering))
        {
            return;
        }

        var entries = new List<Entry>(_grouped);
        foreach (var group in _groups.Values)
        {
            for (var i = group.Head; i < group.Entries.Count; i++)
            {
                entries.Add(group.Entries[i]);
            }
        }

        entries.Sort(static (left, right) => left.Sequence.CompareTo(right.Sequence));
        _groups.Clear();
        _grouped = 0;
        _numbering = current;
        foreach (var entry in entries)
        {
            if (entry.Task.IsFinished || placement.FailIfNoNodeCanEverRun(entry.Task))
            {
                entry.Task.Location = TaskLocation.None;
                continue;
            }

            Add(entry);
        }
    }

    /// <summary>The set of nodes of <see cref="_numbering"/> that could ever run a task, which names its group;
    /// <see langword="null"/> when it is kept in the walked list: no constraint, a deadline each scan must check, or no
    /// node at all (the walked list is where a node's removal fails it). Nodes never change what they could ever run, so
    /// the set is the same at parking and at removal while the node array is.</summary>
    private NodeMask? NodesThatCouldRun(TaskHandle task)
    {
        if (!task.HasPlacementConstraints || (failExpiredDeadlines && task.Options.Deadline is not null))
        {
            return null;
        }

        var set = NodeMask.Of(_numbering, task.Options, static (node, options) => node.State.CanEverRun(options));
        return set.IsEmpty ? null : set;
    }

    /// <summary>Whether one of the nodes of <paramref name="set"/> offers a slot now.</summary>
    private bool AnyOffersASlot(NodeMask set) => set.Any(_numbering, static node => node.State.OfferedSlots > 0);

    /// <summary>A parked task and its place in dequeue order.</summary>
    private readonly record struct Entry(long Sequence, TaskHandle Task);

    /// <summary>The parked tasks the same nodes could ever run, in dequeue order from <see cref="Head"/> on (the entries
    /// before it were taken out), and the state of the scan that walks it.</summary>
    private sealed class Group(NodeMask nodes)
    {
        internal NodeMask Nodes { get; } = nodes;

        internal List<Entry> Entries { get; } = [];

        internal int Head { get; private set; }

        /// <summary>Gets or sets the next entry the scan looks at.</summary>
        internal int Cursor { get; set; }

        /// <summary>Gets or sets whether the scan may still place from this group.</summary>
        internal bool Open { get; set; }

        private int _kept;

        /// <summary>Takes out every ended task, keeping the others in order; returns how many went.</summary>
        internal int DropEnded()
        {
            var kept = 0;
            for (var i = Head; i < Entries.Count; i++)
            {
                if (!Dropped(Entries[i].Task))
                {
                    Entries[kept++] = Entries[i];
                }
            }

            var dropped = Entries.Count - Head - kept;
            Entries.RemoveRange(kept, Entries.Count - kept);
            Head = 0;
            return dropped;
        }

        internal void BeginScan()
        {
            Cursor = Head;
            Open = true;
            _kept = 0;
        }

        /// <summary>Keeps the entry under the cursor: the kept entries gather, in order, at the front of what was walked.</summary>
        internal void Keep() => Entries[Head + _kept++] = Entries[Cursor];

        /// <summary>Ends the scan: the kept entries move to the back of what was walked and the front advances past the
        /// rest, so that the entries behind what was walked stay where they are. Returns how many were taken out.</summary>
        internal int EndScan()
        {
            var taken = Cursor - Head - _kept;
            for (var i = _kept - 1; i >= 0 && taken > 0; i--)
            {
                Entries[Head + taken + i] = Entries[Head + i];
            }

            for (var i = Head; i < Head + taken; i++)
            {
                Entries[i] = default;
            }

            Head += taken;
            if (Head == Entries.Count)
            {
                Entries.Clear();
                Head = 0;
            }
            else if (Head > 64 && Head > Entries.Count / 2)
            {
                Entries.RemoveRange(0, Head);
                Head = 0;
            }

            return taken;
        }
    }
}
