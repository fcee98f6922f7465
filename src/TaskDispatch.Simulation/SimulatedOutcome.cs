namespace TaskDispatch.Simulation;

/// <summary>How one simulated task went, as <see cref="PolicySimulator.Run"/> reports each end to its observer.</summary>
/// <param name="Index">The task's number, in arrival order.</param>
/// <param name="Arrival">When it arrived.</param>
/// <param name="Wait">How long it waited: arrival to its first start.</param>
/// <param name="Response">How long it took in all: arrival to end.</param>
/// <param name="Processing">How long it ran, over all its attempts.</param>
/// <param name="Node">The node that ran its last attempt.</param>
/// <param name="Options">Its options.</param>
/// <param name="State">How it ended: <see cref="TaskState.Completed"/>, or <see cref="TaskState.Failed"/> when the
/// recovery policy gave up.</param>
/// <param name="Attempts">How many attempts it had.</param>
public readonly record struct SimulatedOutcome(int Index, TimeSpan Arrival, TimeSpan Wait, TimeSpan Response, TimeSpan Processing, string Node, TaskOptions Options, TaskState State, int Attempts);
