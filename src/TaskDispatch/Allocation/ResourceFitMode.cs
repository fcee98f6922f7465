namespace TaskDispatch;

/// <summary>How <see cref="ResourceFitAllocationStrategy"/> chooses among nodes whose free resources fit a task.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ResourceFitMode>))]
public enum ResourceFitMode
{
    /// <summary>The node left with the least free capacity: packs tasks tightly and keeps large nodes free for large tasks.</summary>
    BestFit = 0,

    /// <summary>The node left with the most free capacity: spreads load and leaves headroom everywhere.</summary>
    Spread = 1,
}
