namespace TaskDispatch;

/// <summary>Whether a node takes new work.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<NodeHealth>))]
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

    /// <summary>Its circuit breaker opened after too many failures: takes no new work until the break is over; its
    /// running attempts continue.</summary>
    Quarantined = 4,

    /// <summary>Its circuit breaker is half-open: takes one probe attempt at a time, whose success makes the node
    /// <see cref="Healthy"/> again and whose failure quarantines it again.</summary>
    Probing = 5,
}
