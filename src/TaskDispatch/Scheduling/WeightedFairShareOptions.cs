namespace TaskDispatch;

/// <summary>Settings of <see cref="WeightedFairSharePolicy"/>.</summary>
public sealed class WeightedFairShareOptions
{
    /// <summary>Gets the weight of each <see cref="TaskOptions.FairnessKey"/>: backlogged keys are served in proportion
    /// to their weights. Tasks without a key are accounted under the empty string.</summary>
    /// <value>The default value is empty: every key weighs <see cref="DefaultWeight"/>. Each weight must be finite and positive.</value>
    public IDictionary<string, double> Weights { get; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Gets or sets the weight of a key not in <see cref="Weights"/>.</summary>
    /// <value>The default value is 1. Must be finite and positive.</value>
    public double DefaultWeight { get; set; } = 1;

    internal void Validate()
    {
        if (!double.IsFinite(DefaultWeight) || DefaultWeight <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultWeight), DefaultWeight, $"{nameof(DefaultWeight)} must be finite and positive, was {DefaultWeight}.");
        }

        foreach (var (key, weight) in Weights)
        {
            if (!double.IsFinite(weight) || weight <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Weights), weight, $"{nameof(Weights)}[{key}] must be finite and positive, was {weight}.");
            }
        }
    }
}
