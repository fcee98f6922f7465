namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>The settings of the worker member in the throughput and drain benchmarks: each node holds up to
/// <see cref="Prefetch"/> leased tasks beyond its slots and leases up to <see cref="LeaseBatchSize"/> in one statement,
/// as many as one submission statement writes by default (<see cref="PostgreSqlClusterOptions.WriteBatchSize"/>).</summary>
/// <remarks>A lease statement costs a round trip, a plan and a commit whatever its size, and one loop leases for both
/// nodes in turn: with Prefetch 128 and the default batch of 256 (at most 160 tasks a lease here), a node ran out of
/// tasks before almost every lease came back, and a drain of 20,000 took 684-728 ms in three runs; with these settings,
/// 449-499 ms in three runs (docs/cluster.md). The price in a real deployment: a later task of higher priority waits
/// behind what a node already holds.</remarks>
internal static class BatchedLeases
{
    /// <summary>Leased tasks a node holds beyond its slots.</summary>
    public const int Prefetch = 2_000;

    /// <summary>The most tasks one lease statement takes for a node.</summary>
    public const int LeaseBatchSize = 1_000;

    /// <summary>Sets both on a worker member's options.</summary>
    public static void Apply(PostgreSqlClusterOptions options)
    {
        options.Prefetch = Prefetch;
        options.LeaseBatchSize = LeaseBatchSize;
    }
}
