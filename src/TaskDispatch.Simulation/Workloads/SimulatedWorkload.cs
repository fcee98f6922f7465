namespace TaskDispatch.Simulation;

/// <summary>A workload to simulate: how many tasks, when they arrive, how long they run, and their options. Drawn from
/// a seeded random source, so a workload and a seed always give the same tasks.</summary>
public sealed class SimulatedWorkload
{
    /// <summary>Gets how many tasks arrive.</summary>
    /// <value>Required; at least 1.</value>
    public required int Count { get; init; }

    /// <summary>Gets when they arrive.</summary>
    /// <value>Required.</value>
    public required Arrivals Arrivals { get; init; }

    /// <summary>Gets how long each runs on a node of speed 1.</summary>
    /// <value>Required.</value>
    public required ServiceTime ServiceTime { get; init; }

    /// <summary>Gets the seed of the random source the tasks are drawn from.</summary>
    /// <value>The default value is 1.</value>
    public int Seed { get; init; } = 1;

    /// <summary>Gets what gives each task its options: priority, deadline, fairness key, kind, estimate, required node
    /// or tags. It sees the task as drawn and the workload's random source, for attributes drawn at random.</summary>
    /// <value>The default value is <see langword="null"/>: each task has only its kind (for distributions with kinds).</value>
    public Func<SimulatedTask, Random, TaskOptions>? Options { get; init; }

    /// <summary>Gets how often a task saves a checkpoint, in service time on a node of speed 1: a failed attempt's retry
    /// resumes from the last checkpoint reached instead of from the start, as a handler that reads
    /// <see cref="TaskContext"/>'s checkpoint does in the live dispatcher.</summary>
    /// <value>Positive, or <see langword="null"/> (the default value) for tasks that restart from the start.</value>
    public TimeSpan? CheckpointInterval { get; init; }

    internal void Validate()
    {
        if (CheckpointInterval is { } interval && interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CheckpointInterval), interval, $"{nameof(CheckpointInterval)} must be positive (or null), was {interval}.");
        }

        if (Count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Count), Count, $"{nameof(Count)} must be at least 1, was {Count}.");
        }

        ArgumentNullException.ThrowIfNull(Arrivals, nameof(Arrivals));
        ArgumentNullException.ThrowIfNull(ServiceTime, nameof(ServiceTime));
        if (Math.Min(Arrivals.Length ?? int.MaxValue, ServiceTime.Length ?? int.MaxValue) is var recorded && recorded < Count)
        {
            throw new ArgumentException($"{nameof(Count)} is {Count}, but the recorded arrivals or service times hold only {recorded} tasks.", nameof(Count));
        }
    }
}
