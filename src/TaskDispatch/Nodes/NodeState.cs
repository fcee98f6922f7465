namespace TaskDispatch;

/// <summary>The engine's live state of one node: load, health, resources in use. Changed only by scheduler steps (and
/// read by workers for the probe); what strategies, executors and callers see is an immutable
/// <see cref="NodeSnapshot"/> taken from it.</summary>
internal sealed class NodeState
{
    /// <summary>Capacity by resource id (<see cref="ResourceAmount.IdOf"/>); ids past the end have none.</summary>
    private readonly double[] _capacityById;

    /// <summary>Resources in use by id; replaced, never changed in place, so that a snapshot can share it.</summary>
    private double[] _inUseById = [];

    private int _health;

    internal NodeState(string name, int index, NodeOptions options)
    {
        Name = name;
        Index = index;
        MaxConcurrency = options.MaxConcurrency;
        Weight = options.Weight;
        Tags = new HashSet<string>(options.Tags, StringComparer.Ordinal);
        ResourceCapacity = new Dictionary<string, double>(options.Resources, StringComparer.Ordinal);
        _capacityById = ResourceAmount.ById(options.Resources);
    }

    /// <summary>Gets the node's name, unique within its dispatcher.</summary>
    public string Name { get; }

    /// <summary>Gets the node's position in its dispatcher's node list, stable for the node's life.</summary>
    public int Index { get; }

    /// <summary>Gets the number of slots: tasks the node runs at once.</summary>
    public int MaxConcurrency { get; }

    /// <summary>Gets the number of slots in use: tasks assigned to the node and not yet finished.</summary>
    public int ActiveTasks { get; internal set; }

    /// <summary>Gets the number of free slots.</summary>
    public int FreeSlots => MaxConcurrency - ActiveTasks;

    /// <summary>Gets the load: <see cref="ActiveTasks"/> divided by <see cref="MaxConcurrency"/>, from 0 to 1.</summary>
    public double Load => (double)ActiveTasks / MaxConcurrency;

    /// <summary>Gets the node's relative weight.</summary>
    public double Weight { get; }

    /// <summary>Gets the node's tags.</summary>
    public IReadOnlySet<string> Tags { get; }

    /// <summary>Gets the node's resource capacity by name.</summary>
    public IReadOnlyDictionary<string, double> ResourceCapacity { get; }

    /// <summary>Gets the node's capacity by resource id; never changed.</summary>
    internal double[] CapacityById => _capacityById;

    /// <summary>Gets the resources in use by id, as of now; the array is never changed once published.</summary>
    internal double[] InUseById => Volatile.Read(ref _inUseById);

    /// <summary>Gets the node's health; the dispatcher offers only <see cref="NodeHealth.Healthy"/> and
    /// <see cref="NodeHealth.Degraded"/> nodes to allocation strategies, and a <see cref="NodeHealth.Probing"/> node for
    /// one probe at a time.</summary>
    public NodeHealth Health
    {
        get => (NodeHealth)Volatile.Read(ref _health);
        internal set => Volatile.Write(ref _health, (int)value);
    }

    /// <summary>Gets whether the node takes new work: it is healthy or degraded, or probing (one attempt at a time).</summary>
    public bool IsAcceptingWork => Health is NodeHealth.Healthy or NodeHealth.Degraded or NodeHealth.Probing;

    /// <summary>Gets the slots the node offers the scheduler now: its free slots when healthy or degraded, one while
    /// probing without a probe under way, none otherwise.</summary>
    internal int OfferedSlots => Health switch
    {
        NodeHealth.Healthy or NodeHealth.Degraded => FreeSlots,
        NodeHealth.Probing => ProbePlacement == 0 && FreeSlots > 0 ? 1 : 0,
        _ => 0,
    };

    /// <summary>The placement (<see cref="TaskHandle.Placement"/>) sent to a probing node as its probe, until its slot is
    /// freed, or 0; owned by scheduler steps.</summary>
    internal long ProbePlacement { get; set; }

    /// <summary>Gets the recent processing time of successful attempts on the node: an exponentially weighted moving
    /// average in which the newest attempt weighs one fifth; <see cref="TimeSpan.Zero"/> before the first.</summary>
    public TimeSpan RecentProcessingTime { get; private set; }

    /// <summary>Gets how many tasks the node has been given since it was added.</summary>
    public long TasksAssigned { get; internal set; }

    /// <summary>Folds a successful attempt's duration into <see cref="RecentProcessingTime"/>; called by scheduler steps.</summary>
    internal void RecordProcessingTime(TimeSpan processingTime) =>
        RecentProcessingTime = RecentProcessingTime == TimeSpan.Zero
            ? processingTime
            : RecentProcessingTime + ((processingTime - RecentProcessingTime) / 5);

    /// <summary>The engine's side of the node, to act on a strategy's choice.</summary>
    internal NodeRuntime Runtime { get; set; } = null!;

    /// <summary>Takes an immutable view of the node as of now.</summary>
    internal NodeSnapshot ToSnapshot() => new(this);

    /// <summary>Tells whether the node could run a task with this demand and these tags if it were idle.</summary>
    internal bool CanEverRun(TaskOptions options)
    {
        if (options.RequiredNode is { } required && !string.Equals(required, Name, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var tag in options.RequiredTagArray)
        {
            if (!Tags.Contains(tag))
            {
                return false;
            }
        }

        foreach (var demand in options.PositiveDemand)
        {
            if (CapacityOf(demand.Id) < demand.Amount)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tells whether the node's free resources fit the demand now.</summary>
    internal bool FitsNow(ResourceAmount[] demand)
    {
        foreach (var (id, _, amount) in demand)
        {
            if (CapacityOf(id) - InUseOf(id) < amount)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Gets the capacity of a resource by id; 0 when the node has none.</summary>
    internal double CapacityOf(int id) => (uint)id < (uint)_capacityById.Length ? _capacityById[id] : 0;

    /// <summary>Gets the amount of a resource in use by id.</summary>
    internal double InUseOf(int id) => (uint)id < (uint)_inUseById.Length ? _inUseById[id] : 0;

    /// <summary>Takes (sign +1) or gives back (sign -1) the positive entries of a demand; copies the in-use array, so that
    /// snapshots taken before keep what they saw.</summary>
    internal void Reserve(ResourceAmount[] demand, int sign)
    {
        var inUse = _inUseById;
        var maxId = -1;
        foreach (var resource in demand)
        {
            maxId = Math.Max(maxId, resource.Id);
        }

        var updated = new double[Math.Max(inUse.Length, maxId + 1)];
        inUse.CopyTo(updated, 0);
        foreach (var (id, _, amount) in demand)
        {
            var used = updated[id] + (sign * amount);
            updated[id] = used < 1e-9 ? 0 : used;
        }

        Volatile.Write(ref _inUseById, updated);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({ActiveTasks}/{MaxConcurrency})";
}
