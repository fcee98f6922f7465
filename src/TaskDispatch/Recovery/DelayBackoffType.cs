namespace TaskDispatch;

/// <summary>How the delay before a retry grows with the attempt number.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DelayBackoffType>))]
public enum DelayBackoffType
{
    /// <summary>The same delay before every retry.</summary>
    Constant = 0,

    /// <summary>The delay times the number of the failed attempt: 1×, 2×, 3×, ….</summary>
    Linear = 1,

    /// <summary>The delay doubled for every failed attempt: 1×, 2×, 4×, ….</summary>
    Exponential = 2,
}
