namespace TaskDispatch;

/// <summary>Creates the built-in scheduling policies.</summary>
public static class SchedulingPolicy
{
    /// <summary>Creates a first-come-first-served policy (the default).</summary>
    /// <returns>A new policy instance, to be used by one dispatcher.</returns>
    public static ISchedulingPolicy FirstComeFirstServed() => new FirstComeFirstServedPolicy();
}
