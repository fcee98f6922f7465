namespace TaskDispatch;

/// <summary>Settings of <see cref="PriorityPolicy"/>.</summary>
public sealed class PriorityPolicyOptions
{
    /// <summary>Gets or sets how long a task must wait to gain one priority level (aging), so that no task starves.</summary>
    /// <value>
    /// The default value is <see langword="null"/>: no aging, strict priority. With aging, a task of priority <c>p</c>
    /// outranks every task of priority <c>P</c> that becomes ready more than <c>(P - p) × AgingInterval</c> after it,
    /// however much such work keeps arriving; it still follows the work that was already waiting when it arrived.
    /// Must be positive.
    /// </value>
    public TimeSpan? AgingInterval { get; set; }

    internal void Validate()
    {
        if (AgingInterval is { } interval && interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AgingInterval), interval, $"{nameof(AgingInterval)} must be positive, was {interval}.");
        }
    }
}
