namespace TaskDispatch;

/// <summary>Orders the tasks of a queue whose members share one key (a learned kind, a fairness key) by sequence
/// number: arrival order, in which a retried task keeps its place.</summary>
internal readonly struct SequenceOrder : IComparer<long>
{
    public int Compare(long x, long y) => x.CompareTo(y);
}
