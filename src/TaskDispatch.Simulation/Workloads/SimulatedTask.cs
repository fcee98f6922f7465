namespace TaskDispatch.Simulation;

/// <summary>One task of a simulated workload as it was drawn: what <see cref="SimulatedWorkload.Options"/> sees to give
/// the task its options (priority, deadline, fairness key, estimate...).</summary>
/// <param name="Index">The task's number, from 0, in arrival order; also its sequence number.</param>
/// <param name="Arrival">When it arrives, from the start of the simulation.</param>
/// <param name="ServiceTime">How long it runs on a node of speed 1.</param>
/// <param name="Kind">Its kind when the service-time distribution has kinds (<c>short</c> or <c>long</c> for a bimodal
/// one); else <see langword="null"/>.</param>
public readonly record struct SimulatedTask(int Index, TimeSpan Arrival, TimeSpan ServiceTime, string? Kind);
