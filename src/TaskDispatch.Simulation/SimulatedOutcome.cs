namespace TaskDispatch.Simulation;

/// <summary>How one simulated task went, as <see cref="PolicySimulator.Run"/> reports each end to its observer.</summary>
/// <param name="Index">The task's number, in arrival order.</param>
/// <param name="Arrival">When it arrived.</param>
/// <param name="Wait">How long it waited: arrival to start.</param>
/// <param name="Processing">How long it ran on its node.</param>
/// <param name="Node">The node that ran it.</param>
/// <param name="Options">Its options.</param>
public readonly record struct SimulatedOutcome(int Index, TimeSpan Arrival, TimeSpan Wait, TimeSpan Processing, string Node, TaskOptions Options);
