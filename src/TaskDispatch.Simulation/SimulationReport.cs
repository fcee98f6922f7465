using System.Globalization;
using System.Text;

namespace TaskDispatch.Simulation;

/// <summary>The outcome of one simulation: how long tasks waited, responded and ran, what each node did, how fairly
/// the fairness keys were served, and how many deadlines were missed.</summary>
public sealed class SimulationReport
{
    internal SimulationReport(string scheduling, string allocation, long tasks, TimeSpan makespan, DurationSummary waiting, DurationSummary response, DurationSummary processing, IReadOnlyList<SimulatedNodeReport> nodes, double? fairness, long deadlinesMissed, long tasksWithDeadline, TimeSpan realTime)
    {
        (Scheduling, Allocation, Tasks, Makespan, Waiting, Response, Processing, Nodes, Fairness, DeadlinesMissed, TasksWithDeadline, RealTime) =
            (scheduling, allocation, tasks, makespan, waiting, response, processing, nodes, fairness, deadlinesMissed, tasksWithDeadline, realTime);
    }

    /// <summary>Gets the scheduling policy's type name.</summary>
    public string Scheduling { get; }

    /// <summary>Gets the allocation strategy's type name.</summary>
    public string Allocation { get; }

    /// <summary>Gets how many tasks ran.</summary>
    public long Tasks { get; }

    /// <summary>Gets the virtual time from the start to the last task's end.</summary>
    public TimeSpan Makespan { get; }

    /// <summary>Gets the waiting times: arrival to start.</summary>
    public DurationSummary Waiting { get; }

    /// <summary>Gets the response times: arrival to end.</summary>
    public DurationSummary Response { get; }

    /// <summary>Gets the processing times: start to end (service time over the node's speed).</summary>
    public DurationSummary Processing { get; }

    /// <summary>Gets each node's work and utilization.</summary>
    public IReadOnlyList<SimulatedNodeReport> Nodes { get; }

    /// <summary>Gets Jain's fairness index over the fairness keys of the service each received per unit of its
    /// weight (<see cref="WeightedFairShareOptions.Weights"/> given to the simulator): 1 when every key got its share, 1/n
    /// when one key got everything; <see langword="null"/> with fewer than two keys.</summary>
    public double? Fairness { get; }

    /// <summary>Gets how many tasks with a <see cref="TaskOptions.Deadline"/> ended after it.</summary>
    public long DeadlinesMissed { get; }

    /// <summary>Gets how many tasks had a deadline.</summary>
    public long TasksWithDeadline { get; }

    /// <summary>Gets how long the simulation took in real time.</summary>
    public TimeSpan RealTime { get; }

    /// <summary>Gets how many tasks the simulator ran per second of real time.</summary>
    public double TasksPerSecond => RealTime > TimeSpan.Zero ? Tasks / RealTime.TotalSeconds : double.PositiveInfinity;

    /// <summary>Describes the report on a few lines.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(culture, $"{Scheduling} + {Allocation}: {Tasks} tasks, makespan {Makespan.TotalSeconds:0.###} s").AppendLine();
        text.Append(culture, $"  waiting    {Waiting}").AppendLine();
        text.Append(culture, $"  response   {Response}").AppendLine();
        text.Append(culture, $"  processing {Processing}").AppendLine();
        if (Fairness is { } fairness)
        {
            text.Append(culture, $"  fairness (Jain) {fairness:0.0000}").AppendLine();
        }

        if (TasksWithDeadline > 0)
        {
            text.Append(culture, $"  deadlines missed {DeadlinesMissed} of {TasksWithDeadline}").AppendLine();
        }

        text.Append(culture, $"  nodes: {string.Join("; ", Nodes)}");
        return text.ToString();
    }
}
