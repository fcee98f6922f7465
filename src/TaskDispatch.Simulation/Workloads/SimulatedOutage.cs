using System.Globalization;

namespace TaskDispatch.Simulation;

/// <summary>A time a simulated node is down: at <see cref="At"/> it dies, the attempts running on it fail as node faults
/// (the recovery policy decides what becomes of their tasks), and it takes no work until <see cref="Duration"/> has
/// passed, or ever again when there is none.</summary>
public sealed record SimulatedOutage
{
    /// <summary>Initializes a new instance of the <see cref="SimulatedOutage"/> class.</summary>
    /// <param name="at">When the node dies, from the start of the simulation; not negative.</param>
    /// <param name="duration">How long it stays down; positive, or <see langword="null"/> for a node that never comes back.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="at"/> is negative or <paramref name="duration"/> is not positive.</exception>
    public SimulatedOutage(TimeSpan at, TimeSpan? duration = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(at, TimeSpan.Zero);
        if (duration is { } down && down <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"{nameof(duration)} must be positive (or null for a node that never comes back), was {down}.");
        }

        (At, Duration) = (at, duration);
    }

    /// <summary>Gets when the node dies, from the start of the simulation.</summary>
    public TimeSpan At { get; }

    /// <summary>Gets how long it stays down; <see langword="null"/> when it never comes back.</summary>
    public TimeSpan? Duration { get; }

    /// <inheritdoc />
    public override string ToString() => Duration is { } down
        ? string.Create(CultureInfo.InvariantCulture, $"down at {At.TotalSeconds:0.###} s for {down.TotalSeconds:0.###} s")
        : string.Create(CultureInfo.InvariantCulture, $"dies at {At.TotalSeconds:0.###} s for good");
}
