namespace TaskDispatch;

/// <summary>Creates the built-in scheduling policies. Each call returns a new instance, to be used by one dispatcher.</summary>
public static class SchedulingPolicy
{
    /// <summary>Creates a first-come-first-served policy (the default).</summary>
    /// <returns>The policy.</returns>
    public static ISchedulingPolicy FirstComeFirstServed() => new FirstComeFirstServedPolicy();

    /// <summary>Creates a shortest-job-first policy that learns durations per kind of task.</summary>
    /// <param name="configure">Changes the settings.</param>
    /// <returns>The policy.</returns>
    public static ISchedulingPolicy ShortestJobFirst(Action<ShortestJobFirstOptions>? configure = null) =>
        new ShortestJobFirstPolicy(Configure(configure));

    /// <summary>Creates a priority policy (higher <see cref="TaskOptions.Priority"/> first), optionally with aging.</summary>
    /// <param name="configure">Changes the settings.</param>
    /// <returns>The policy.</returns>
    public static ISchedulingPolicy Priority(Action<PriorityPolicyOptions>? configure = null) =>
        new PriorityPolicy(Configure(configure));

    /// <summary>Creates an earliest-deadline-first policy.</summary>
    /// <param name="configure">Changes the settings.</param>
    /// <returns>The policy.</returns>
    public static ISchedulingPolicy EarliestDeadlineFirst(Action<EarliestDeadlineFirstOptions>? configure = null) =>
        new EarliestDeadlineFirstPolicy(Configure(configure));

    /// <summary>Creates a weighted fair-share policy over <see cref="TaskOptions.FairnessKey"/>.</summary>
    /// <param name="configure">Changes the settings, such as the weights.</param>
    /// <returns>The policy.</returns>
    public static ISchedulingPolicy WeightedFairShare(Action<WeightedFairShareOptions>? configure = null) =>
        new WeightedFairSharePolicy(Configure(configure));

    /// <summary>Creates a composed policy: strict priority across bands, <paramref name="bandPolicyFactory"/>'s policy inside each.</summary>
    /// <param name="bandPolicyFactory">Creates the policy of one band, such as <c>() => SchedulingPolicy.WeightedFairShare()</c>.</param>
    /// <returns>The policy.</returns>
    public static ISchedulingPolicy PriorityBands(Func<ISchedulingPolicy> bandPolicyFactory) => new PriorityBandsPolicy(bandPolicyFactory);

    private static TOptions Configure<TOptions>(Action<TOptions>? configure)
        where TOptions : new()
    {
        var options = new TOptions();
        configure?.Invoke(options);
        return options;
    }
}
