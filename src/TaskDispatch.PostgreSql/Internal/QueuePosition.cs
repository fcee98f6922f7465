namespace TaskDispatch;

/// <summary>Where a task sits in its node's queue: the order of the queue's index, <c>(sort_key, seq)</c>. Compared as
/// PostgreSQL orders <c>float8</c>: NaN after every number.</summary>
internal readonly record struct QueuePosition(double SortKey, long Sequence) : IComparable<QueuePosition>
{
    /// <summary>Before every task's position: what a notification that names no position announces.</summary>
    internal static readonly QueuePosition Head = new(double.NegativeInfinity, long.MinValue);

    /// <inheritdoc />
    public int CompareTo(QueuePosition other)
    {
        var byKey = double.IsNaN(SortKey)
            ? (double.IsNaN(other.SortKey) ? 0 : 1)
            : double.IsNaN(other.SortKey) ? -1 : SortKey.CompareTo(other.SortKey);
        return byKey != 0 ? byKey : Sequence.CompareTo(other.Sequence);
    }

    /// <summary>Whether this position comes before <paramref name="other"/> in the queue.</summary>
    internal bool IsBefore(QueuePosition other) => CompareTo(other) < 0;
}
