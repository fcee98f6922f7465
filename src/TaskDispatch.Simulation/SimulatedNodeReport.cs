using System.Globalization;

namespace TaskDispatch.Simulation;

/// <summary>What one simulated node did.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="TasksRun">How many tasks it ran.</param>
/// <param name="Utilization">Its busy slot-time over its capacity (slots × the simulation's makespan), from 0 to 1.</param>
public sealed record SimulatedNodeReport(string Name, long TasksRun, double Utilization)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name}: {TasksRun} tasks, utilization {Utilization:P1}");
}
