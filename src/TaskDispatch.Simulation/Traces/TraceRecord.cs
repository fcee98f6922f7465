namespace TaskDispatch.Simulation;

/// <summary>One task of a <see cref="TaskTrace"/>: when it arrived, how long it ran, and the options the simulator
/// gives it again.</summary>
public sealed record TraceRecord
{
    /// <summary>Gets when it arrived, from the start of the trace.</summary>
    public required TimeSpan Arrival { get; init; }

    /// <summary>Gets how long it ran: the attempt that completed it (or its last attempt, when it failed), as observed
    /// on its node; the simulator takes it as the task's service time.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Gets its kind (<see cref="TaskHandle.Kind"/>), which learning policies learn by.</summary>
    public string? Kind { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.Priority"/>.</summary>
    public int Priority { get; init; }

    /// <summary>Gets its deadline, from its arrival; <see langword="null"/> when it had none.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.FairnessKey"/>.</summary>
    public string? FairnessKey { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.EstimatedDuration"/>.</summary>
    public TimeSpan? EstimatedDuration { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.RequiredNode"/>.</summary>
    public string? RequiredNode { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.RequiredTags"/>.</summary>
    public IReadOnlyList<string>? RequiredTags { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.ResourceDemand"/>.</summary>
    public IReadOnlyDictionary<string, double>? ResourceDemand { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.MaxRetryAttempts"/>.</summary>
    public int? MaxRetryAttempts { get; init; }

    /// <summary>Gets its <see cref="TaskOptions.Timeout"/>: an attempt that runs longer fails.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Gets how it ended where it was recorded: <see cref="TaskState.Completed"/> or <see cref="TaskState.Failed"/>.
    /// Kept for reading the trace; the simulator does not replay it: in a simulation a task fails only by its
    /// <see cref="Timeout"/>, its nodes' failure rates and outages.</summary>
    public TaskState Outcome { get; init; } = TaskState.Completed;

    /// <summary>The options the simulator gives the task, its deadline made absolute on the simulator's clock.</summary>
    internal TaskOptions ToOptions() => new()
    {
        Kind = string.IsNullOrEmpty(Kind) ? null : Kind,
        Priority = Priority,
        Deadline = Deadline is { } deadline ? DateTimeOffset.UnixEpoch + Arrival + deadline : null,
        FairnessKey = FairnessKey,
        EstimatedDuration = EstimatedDuration,
        RequiredNode = RequiredNode,
        RequiredTags = RequiredTags,
        ResourceDemand = ResourceDemand,
        MaxRetryAttempts = MaxRetryAttempts,
        Timeout = Timeout,
    };
}
