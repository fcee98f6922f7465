namespace TaskDispatch;

/// <summary>What <see cref="NodePlacer.Choose"/> decided for a task.</summary>
internal enum PlacementChoice
{
    /// <summary>No node can take the task now: it keeps waiting.</summary>
    Wait,

    /// <summary>The allocation strategy failed for the task, which has ended.</summary>
    Ended,

    /// <summary>A node was chosen.</summary>
    Chosen,
}
