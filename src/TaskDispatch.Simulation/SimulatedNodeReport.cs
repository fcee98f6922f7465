using System.Globalization;

namespace TaskDispatch.Simulation;

/// <summary>What one simulated node did.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="TasksRun">How many tasks completed on it.</param>
/// <param name="Utilization">Its busy slot-time, failed attempts included, over its capacity (slots × the simulation's
/// makespan), from 0 to 1.</param>
/// <param name="AttemptsFailed">How many attempts failed on it, those its deaths ended included.</param>
/// <param name="Deaths">How many times it died.</param>
public sealed record SimulatedNodeReport(string Name, long TasksRun, double Utilization, long AttemptsFailed, int Deaths)
{
    /// <inheritdoc />
    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Name}: {TasksRun} tasks, utilization {Utilization:P1}");
        return AttemptsFailed == 0 && Deaths == 0
            ? text
            : string.Create(CultureInfo.InvariantCulture, $"{text}, {AttemptsFailed} failed attempts, {Deaths} deaths");
    }
}
