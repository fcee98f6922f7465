namespace TaskDispatch;

/// <summary>Where a retry may run, as a <see cref="RecoveryDecision"/> says.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<RetryPlacement>))]
public enum RetryPlacement
{
    /// <summary>On any node the allocation strategy chooses (nodes the task already had to leave after node faults stay
    /// avoided while another node could run it).</summary>
    Anywhere,

    /// <summary>On the node the failed attempt ran on, waiting for it if it is busy; anywhere once that node is gone.</summary>
    SameNode,

    /// <summary>On any node but the one the failed attempt ran on, while another node could run the task.</summary>
    OtherNode,
}
