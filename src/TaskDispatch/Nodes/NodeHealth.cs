namespace TaskDispatch;

/// <summary>Whether a node takes new work.</summary>
public enum NodeHealth
{
    /// <summary>Takes new work.</summary>
    Healthy = 0,

    /// <summary>Takes new work, but something is wrong; strategies may prefer other nodes (see <see cref="NodeSnapshot.Health"/>).</summary>
    Degraded = 1,

    /// <summary>Has failed: takes no new work until it is made healthy again, and the attempts running on it are given
    /// up as node faults (their tokens cancelled, their tasks recovered on other nodes).</summary>
    Unavailable = 2,

    /// <summary>Takes no new work and finishes what it runs, before it is removed or made healthy again.</summary>
    Draining = 3,
}
