namespace TaskDispatch;

/// <summary>A built-in policy whose order a shared store can reproduce with an indexed sort key: tasks run in ascending
/// key, ties by arrival. A cluster leases in this order; a policy without it orders only what its node has leased.</summary>
internal interface IStoreOrderedPolicy
{
    /// <summary>Gets the sort key of <paramref name="task"/>, as the policy would order it now.</summary>
    double SortKey(TaskHandle task);

    /// <summary>Gets the share weight of a fairness key, or <see langword="null"/> when the policy does not share by key
    /// (then <see cref="SortKey"/> alone orders tasks).</summary>
    double? FairShareWeight(string fairnessKey);
}
