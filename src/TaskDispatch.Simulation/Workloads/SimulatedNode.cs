namespace TaskDispatch.Simulation;

/// <summary>A node of the simulated cluster: as many slots as a dispatcher node's concurrency, a weight for weighted
/// strategies, tags for tasks that require them, and a speed that divides every service time run on it.</summary>
public sealed class SimulatedNode
{
    /// <summary>Initializes a new instance of the <see cref="SimulatedNode"/> class.</summary>
    /// <param name="name">The node's name; not empty.</param>
    /// <param name="slots">How many tasks it runs at once; at least 1.</param>
    /// <param name="weight">Its weight; finite and positive.</param>
    /// <param name="speed">How fast it runs tasks: a task of service time s takes s / speed; finite and positive.</param>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public SimulatedNode(string name, int slots = 1, double weight = 1, double speed = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        if (!(weight > 0) || !double.IsFinite(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, $"{nameof(weight)} must be finite and positive, was {weight}.");
        }

        if (!(speed > 0) || !double.IsFinite(speed))
        {
            throw new ArgumentOutOfRangeException(nameof(speed), speed, $"{nameof(speed)} must be finite and positive, was {speed}.");
        }

        (Name, Slots, Weight, Speed) = (name, slots, weight, speed);
    }

    /// <summary>Gets the node's name.</summary>
    public string Name { get; }

    /// <summary>Gets how many tasks it runs at once.</summary>
    public int Slots { get; }

    /// <summary>Gets its weight.</summary>
    public double Weight { get; }

    /// <summary>Gets its speed.</summary>
    public double Speed { get; }

    /// <summary>Gets its tags.</summary>
    public ISet<string> Tags { get; } = new HashSet<string>(StringComparer.Ordinal);

    internal NodeOptions ToOptions()
    {
        var options = new NodeOptions { MaxConcurrency = Slots, Weight = Weight };
        foreach (var tag in Tags)
        {
            options.Tags.Add(tag);
        }

        return options;
    }
}
