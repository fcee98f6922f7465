namespace TaskDispatch;

/// <summary>An immutable view of one node as of one moment: what allocation strategies, node executors and callers see.
/// It cannot change under its reader, and nothing done to it reaches the engine.</summary>
/// <remarks>
/// The dispatcher takes a view of each candidate node in the scheduler step that asks the allocation strategy, so a
/// strategy sees one consistent moment without locks. A view read elsewhere (<see cref="ITaskDispatcher.Nodes"/>) is as of
/// the call. Views can also be made directly, with <see langword="with"/> expressions for the changing values, to
/// test a strategy or to describe nodes that live outside this process.
/// </remarks>
public readonly struct NodeSnapshot
{
    /// <summary>Capacity by resource id; shared and never changed.</summary>
    private readonly double[] _capacityById;

    /// <summary>Resources in use by id, as of the view; shared and never changed.</summary>
    private readonly double[] _inUseById;

    /// <summary>Creates a view of a node described by its options, idle and healthy.</summary>
    /// <param name="name">The node's name.</param>
    /// <param name="index">The node's position in its dispatcher's node list.</param>
    /// <param name="options">The node's concurrency, weight, tags and resources.</param>
    /// <exception cref="ArgumentNullException">Thrown when <paramref name="name"/> or <paramref name="options"/> is null.</exception>
    public NodeSnapshot(string name, int index, NodeOptions options)
        : this(new NodeState(name ?? throw new ArgumentNullException(nameof(name)), index, options ?? throw new ArgumentNullException(nameof(options))), live: false)
    {
    }

    /// <summary>Takes a view of the engine's state of a node.</summary>
    internal NodeSnapshot(NodeState state)
        : this(state, live: true)
    {
    }

    private NodeSnapshot(NodeState state, bool live)
    {
        Name = state.Name;
        Index = state.Index;
        MaxConcurrency = state.MaxConcurrency;
        ActiveTasks = state.ActiveTasks;
        Weight = state.Weight;
        Tags = state.Tags;
        ResourceCapacity = state.ResourceCapacity;
        Health = state.Health;
        RecentProcessingTime = state.RecentProcessingTime;
        TasksAssigned = state.TasksAssigned;
        _capacityById = state.CapacityById;
        _inUseById = state.InUseById;
        State = live ? state : null;
    }

    /// <summary>Gets the node's name, unique within its dispatcher.</summary>
    public string Name { get; init; }

    /// <summary>Gets the node's position in its dispatcher's node list, stable for the node's life.</summary>
    public int Index { get; init; }

    /// <summary>Gets the number of slots: tasks the node runs at once.</summary>
    public int MaxConcurrency { get; init; }

    /// <summary>Gets the number of slots in use: tasks assigned to the node and not yet finished.</summary>
    public int ActiveTasks { get; init; }

    /// <summary>Gets the number of free slots.</summary>
    public int FreeSlots => MaxConcurrency - ActiveTasks;

    /// <summary>Gets the load: <see cref="ActiveTasks"/> divided by <see cref="MaxConcurrency"/>, from 0 to 1.</summary>
    public double Load => MaxConcurrency == 0 ? 1 : (double)ActiveTasks / MaxConcurrency;

    /// <summary>Gets the node's relative weight.</summary>
    public double Weight { get; init; }

    /// <summary>Gets the node's tags.</summary>
    public IReadOnlySet<string> Tags { get; init; }

    /// <summary>Gets the node's resource capacity by name.</summary>
    public IReadOnlyDictionary<string, double> ResourceCapacity { get; }

    /// <summary>Gets the resources taken by the tasks running on the node, by name, as of the view. Reading it builds a
    /// dictionary; strategies on a hot path use <see cref="InUseOf(in ResourceAmount)"/>.</summary>
    public IReadOnlyDictionary<string, double> ResourcesInUse
    {
        get
        {
            var inUse = new Dictionary<string, double>(StringComparer.Ordinal);
            var amounts = _inUseById ?? [];
            for (var id = 0; id < amounts.Length; id++)
            {
                if (amounts[id] > 0)
                {
                    inUse[ResourceAmount.NameOf(id)] = amounts[id];
                }
            }

            return inUse;
        }

        init
        {
            ArgumentNullException.ThrowIfNull(value);
            _inUseById = ResourceAmount.ById(value);
        }
    }

    /// <summary>Gets the node's health; the dispatcher offers only <see cref="NodeHealth.Healthy"/> and
    /// <see cref="NodeHealth.Degraded"/> nodes to allocation strategies, and a <see cref="NodeHealth.Probing"/> node for
    /// one probe at a time.</summary>
    public NodeHealth Health { get; init; }

    /// <summary>Gets whether the node takes new work: it is healthy or degraded, or probing (one attempt at a time).</summary>
    public bool IsAcceptingWork => Health is NodeHealth.Healthy or NodeHealth.Degraded or NodeHealth.Probing;

    /// <summary>Gets the recent processing time of successful attempts on the node: an exponentially weighted moving
    /// average in which the newest attempt weighs one fifth; <see cref="TimeSpan.Zero"/> before the first.</summary>
    public TimeSpan RecentProcessingTime { get; init; }

    /// <summary>Gets how many tasks the node had been given since it was added.</summary>
    public long TasksAssigned { get; init; }

    /// <summary>Gets the engine's state of the node the view was taken from; <see langword="null"/> for a view made directly.</summary>
    internal NodeState? State { get; }

    /// <summary>Gets the probe placement of the node the view was taken from, live (for tests that check the engine
    /// from inside a decision).</summary>
    internal long ProbePlacement => State?.ProbePlacement ?? 0;

    /// <summary>Gets the engine's side of the node the view was taken from.</summary>
    internal NodeRuntime Runtime => State?.Runtime ?? throw new InvalidOperationException($"The view of node '{Name}' was not taken from a dispatcher.");

    /// <summary>Gets the node's capacity of a resource; 0 when it has none.</summary>
    /// <param name="resource">The resource (its amount is not used).</param>
    /// <returns>The capacity.</returns>
    public double CapacityOf(in ResourceAmount resource) =>
        _capacityById is { } capacity && (uint)resource.Id < (uint)capacity.Length ? capacity[resource.Id] : 0;

    /// <summary>Gets the amount of a resource in use on the node by its running tasks, as of the view.</summary>
    /// <param name="resource">The resource (its amount is not used).</param>
    /// <returns>The amount in use.</returns>
    public double InUseOf(in ResourceAmount resource) =>
        _inUseById is { } inUse && (uint)resource.Id < (uint)inUse.Length ? inUse[resource.Id] : 0;

    /// <summary>Describes the node on one line: health, busy slots, weight and tags.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Name}: {Health}, {ActiveTasks}/{MaxConcurrency} slots busy, weight {Weight}{(Tags is { Count: > 0 } tags ? $", tags {string.Join(",", tags.Order(StringComparer.Ordinal))}" : string.Empty)}");
}
