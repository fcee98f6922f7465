namespace TaskDispatch;

/// <summary>A node of the cluster as the membership table holds it, seen from any member.</summary>
public sealed class ClusterNodeInfo
{
    /// <summary>Gets the node's name, unique in the cluster.</summary>
    public required string Name { get; init; }

    /// <summary>Gets the id of the member process that runs it.</summary>
    public required string Member { get; init; }

    /// <summary>Gets the name of the machine the member runs on.</summary>
    public required string Host { get; init; }

    /// <summary>Gets the member's process id.</summary>
    public int ProcessId { get; init; }

    /// <summary>Gets how many tasks it runs at once.</summary>
    public int Slots { get; init; }

    /// <summary>Gets its weight for weighted allocation.</summary>
    public double Weight { get; init; }

    /// <summary>Gets its tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Gets its resource capacities by name.</summary>
    public IReadOnlyDictionary<string, double> Resources { get; init; } = new Dictionary<string, double>();

    /// <summary>Gets the tasks placed on it that have not ended: waiting for it, or leased by it.</summary>
    public int Load { get; init; }

    /// <summary>Gets the tasks it holds leases on now.</summary>
    public int Leased { get; init; }

    /// <summary>Gets its member's last heartbeat.</summary>
    public DateTimeOffset LastHeartbeat { get; init; }

    /// <summary>Gets whether it is live: heartbeating, and its member's session is open.</summary>
    public bool IsAlive { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} on {Host} ({Load} placed, {Leased}/{Slots} leased, {(IsAlive ? "alive" : "dead")})";
}
