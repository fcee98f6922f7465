namespace TaskDispatch.Simulation;

/// <summary>A discrete-event simulator in virtual time that drives the very <see cref="ISchedulingPolicy"/>,
/// <see cref="IAllocationStrategy"/> and <see cref="IRecoveryPolicy"/> objects a dispatcher runs: one central queue
/// ordered by the policy, and whenever a node has a free slot, the next task goes to the node the strategy chooses among
/// the live nodes with a free slot that can run it, as in <see cref="TaskDispatcher"/>. A failed attempt (a node's
/// failure rate, a timeout, a node's death) goes to the recovery policy, whose retries, delays and placements are
/// carried out as the dispatcher does. A learning policy hears every successful attempt. Nothing runs and no clock is
/// read: a workload and a seed always give the same report.</summary>
/// <remarks>The policies are single-threaded objects here: give each simulation fresh instances of the stateful ones.
/// Give a retry policy with jitter a seeded <see cref="RetryRecoveryOptions.Random"/>, or its delays, and so the
/// report, change from run to run. The tasks the policies see are handles with the task's options, kind, sequence
/// number and ready time; their attempt count, failure list and node are not kept up to date (the policies hear the
/// attempt and the node through <see cref="RecoveryContext"/>), nor is a node's recent processing time.</remarks>
public static class PolicySimulator
{
    /// <summary>Runs <paramref name="workload"/> on <paramref name="nodes"/> under a scheduling policy, an allocation
    /// strategy and a recovery policy, and reports what happened.</summary>
    /// <param name="workload">The tasks.</param>
    /// <param name="nodes">The cluster; at least one node, names unique.</param>
    /// <param name="scheduling">The scheduling policy, fresh (it keeps the queue).</param>
    /// <param name="allocation">The allocation strategy; <see langword="null"/> for round-robin.</param>
    /// <param name="recovery">The recovery policy; <see langword="null"/> for <see cref="RecoveryPolicy.Default"/>, the
    /// dispatcher's default.</param>
    /// <param name="fairnessWeights">The weight of each <see cref="TaskOptions.FairnessKey"/> for
    /// <see cref="SimulationReport.Fairness"/>; keys not listed weigh 1.</param>
    /// <param name="onTaskEnded">Hears each task's end, in end order: to record what the report does not have (a
    /// class's waits, the order of ends).</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">The workload or the nodes are invalid.</exception>
    /// <exception cref="InvalidOperationException">A task requires a node, tags or resources no node has; the strategy
    /// chose a node outside its candidates; the recovery policy threw; or it kept retrying one task past
    /// 10,000 attempts (every attempt bound to fail), where the simulation stops rather than run forever.</exception>
    public static SimulationReport Run(SimulatedWorkload workload, IReadOnlyList<SimulatedNode> nodes, ISchedulingPolicy scheduling, IAllocationStrategy? allocation = null, IRecoveryPolicy? recovery = null, IReadOnlyDictionary<string, double>? fairnessWeights = null, Action<SimulatedOutcome>? onTaskEnded = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(scheduling);
        workload.Validate();
        if (nodes.Count == 0)
        {
            throw new ArgumentException("A simulation needs at least one node.", nameof(nodes));
        }

        if (nodes.Any(node => node is null))
        {
            throw new ArgumentException("A node is null.", nameof(nodes));
        }

        if (nodes.Select(node => node.Name).Distinct(StringComparer.Ordinal).Count() != nodes.Count)
        {
            throw new ArgumentException("Node names must be unique.", nameof(nodes));
        }

        foreach (var node in nodes)
        {
            node.ToOptions().Validate(node.Name);
            node.ValidateOutages();
        }

        if (scheduling.Count != 0)
        {
            throw new ArgumentException("The scheduling policy already holds tasks; give each simulation a fresh one.", nameof(scheduling));
        }

        var run = new Simulation(workload, nodes, scheduling, allocation ?? AllocationStrategy.RoundRobin(), recovery ?? RecoveryPolicy.Default(), fairnessWeights, onTaskEnded);
        return run.Execute();
    }
}
