namespace TaskDispatch;

/// <summary>Settings of <see cref="ShortestJobFirstPolicy"/>.</summary>
public sealed class ShortestJobFirstOptions
{
    /// <summary>Gets or sets the estimate for a task that gives none, of a kind never seen to finish.</summary>
    /// <value>The default value is 1 second. Must not be negative.</value>
    public TimeSpan DefaultEstimate { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the weight of the newest observation in the moving average of a kind's processing time:
    /// near 1 follows changes fast, near 0 smooths out noise.</summary>
    /// <value>The default value is 0.25. Must be greater than 0 and at most 1.</value>
    public double SmoothingFactor { get; set; } = 0.25;

    /// <summary>Gets or sets whether tasks without <see cref="TaskOptions.EstimatedDuration"/> use the learned
    /// average of their kind (<see cref="TaskHandle.Kind"/>) rather than <see cref="DefaultEstimate"/>.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool LearnEstimates { get; set; } = true;

    internal void Validate()
    {
        if (DefaultEstimate < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultEstimate), DefaultEstimate, $"{nameof(DefaultEstimate)} must not be negative, was {DefaultEstimate}.");
        }

        if (!(SmoothingFactor > 0 && SmoothingFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SmoothingFactor), SmoothingFactor, $"{nameof(SmoothingFactor)} must be greater than 0 and at most 1, was {SmoothingFactor}.");
        }
    }
}
