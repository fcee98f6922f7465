using System.Globalization;
using System.Text;

namespace TaskDispatch.Simulation;

/// <summary>The outcome of one simulation: how long tasks waited, responded and ran, what each node did, how fairly
/// the fairness keys were served, how many deadlines were missed, and what failures cost.</summary>
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

    /// <summary>Gets how many tasks the workload had.</summary>
    public long Tasks { get; }

    /// <summary>Gets how many tasks completed.</summary>
    public long TasksCompleted { get; internal init; }

    /// <summary>Gets how many tasks failed: the recovery policy gave up on them.</summary>
    public long TasksFailed { get; internal init; }

    /// <summary>Gets how many tasks never ended: when nothing was left to happen, no live node could run them (the nodes
    /// that could had died for good).</summary>
    public long TasksUnfinished { get; internal init; }

    /// <summary>Gets the share of tasks lost: failed or unfinished, over all tasks.</summary>
    public double LossRate => Tasks == 0 ? 0 : (TasksFailed + TasksUnfinished) / (double)Tasks;

    /// <summary>Gets how many attempts failed: drawn by a node's <see cref="SimulatedNode.FailureRate"/>, timed out
    /// (<see cref="TaskOptions.Timeout"/>), or ended by their node's death.</summary>
    public long AttemptsFailed { get; internal init; }

    /// <summary>Gets how many times a task was started again after a failed attempt: every failed attempt but the last
    /// of each failed task.</summary>
    public long Restarts => AttemptsFailed - TasksFailed;

    /// <summary>Gets how many tasks completed after at least one failed attempt.</summary>
    public long TasksRecovered { get; internal init; }

    /// <summary>Gets the recovery times of the recovered tasks: from the first failed attempt to the completion, as the
    /// dispatcher's recovery-time metric measures it.</summary>
    public DurationSummary Recovery { get; internal init; } = DurationSummary.Empty;

    /// <summary>Gets the virtual time from the start to the last task's end.</summary>
    public TimeSpan Makespan { get; }

    /// <summary>Gets the waiting times of the tasks that started: arrival to first start.</summary>
    public DurationSummary Waiting { get; }

    /// <summary>Gets the response times of the tasks that ended: arrival to end.</summary>
    public DurationSummary Response { get; }

    /// <summary>Gets the processing times of the tasks that ended: the time their attempts ran (service time over the
    /// node's speed), summed over attempts.</summary>
    public DurationSummary Processing { get; }

    /// <summary>Gets each node's work, utilization and failures.</summary>
    public IReadOnlyList<SimulatedNodeReport> Nodes { get; }

    /// <summary>Gets Jain's fairness index over the fairness keys of the service each received per unit of its
    /// weight (<see cref="WeightedFairShareOptions.Weights"/> given to the simulator): 1 when every key got its share, 1/n
    /// when one key got everything; <see langword="null"/> with fewer than two keys.</summary>
    public double? Fairness { get; }

    /// <summary>Gets each fairness key's share of the service the tasks with a <see cref="TaskOptions.FairnessKey"/>
    /// received (the time their attempts ran), from 0 to 1, the shares summing to 1; empty when no task had a key.</summary>
    public IReadOnlyDictionary<string, double> ServiceShares { get; internal init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Gets how many tasks with a <see cref="TaskOptions.Deadline"/> did not complete by it: ended after it,
    /// failed, or never ended.</summary>
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
        if (AttemptsFailed > 0 || TasksUnfinished > 0)
        {
            text.Append(culture, $"  failures: {AttemptsFailed} failed attempts, {Restarts} restarts, {TasksFailed} tasks failed, {TasksUnfinished} unfinished (loss rate {LossRate:P2})").AppendLine();
            text.Append(culture, $"  recovery   {Recovery} ({TasksRecovered} tasks recovered)").AppendLine();
        }

        if (Fairness is { } fairness)
        {
            var shares = string.Join(", ", ServiceShares.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => string.Create(culture, $"{pair.Key} {pair.Value:P1}")));
            text.Append(culture, $"  fairness (Jain) {fairness:0.0000}; service shares {shares}").AppendLine();
        }

        if (TasksWithDeadline > 0)
        {
            text.Append(culture, $"  deadlines missed {DeadlinesMissed} of {TasksWithDeadline}").AppendLine();
        }

        text.Append(culture, $"  nodes: {string.Join("; ", Nodes)}");
        return text.ToString();
    }
}
