namespace TaskDispatch.Simulation;

/// <summary>A node of the simulated cluster: as many slots as a dispatcher node's concurrency, a weight for weighted
/// strategies, tags and resources for tasks that require them, a speed that divides every service time run on it, and
/// its failures: a share of attempts that fail, and outages during which it is dead.</summary>
public sealed class SimulatedNode
{
    private readonly double _failureRate;

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

    /// <summary>Gets its resource capacity by name, for tasks with a <see cref="TaskOptions.ResourceDemand"/>: a task
    /// starts on the node only while the demands of the tasks running there and its own fit the capacity.</summary>
    public IDictionary<string, double> Resources { get; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Gets the share of attempts on this node that fail as the task's fault (a
    /// <see cref="SimulatedTaskFailureException"/> for the recovery policy), each after a uniformly drawn part of its
    /// run. Whether an attempt fails depends only on the workload's seed, the task, the attempt number and the node,
    /// so that every policy compared meets the same failures.</summary>
    /// <value>From 0 to 1; the default value is 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1].</exception>
    public double FailureRate
    {
        get => _failureRate;
        init
        {
            if (!(value >= 0 && value <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(FailureRate), value, $"{nameof(FailureRate)} must be from 0 to 1, was {value}.");
            }

            _failureRate = value;
        }
    }

    /// <summary>Gets when the node is dead: in time order, none overlapping, and a permanent one only last.</summary>
    public IList<SimulatedOutage> Outages { get; } = [];

    internal NodeOptions ToOptions()
    {
        var options = new NodeOptions { MaxConcurrency = Slots, Weight = Weight };
        foreach (var tag in Tags)
        {
            options.Tags.Add(tag);
        }

        foreach (var (name, capacity) in Resources)
        {
            options.WithResource(name, capacity);
        }

        return options;
    }

    /// <summary>Checks the outages: in order, not overlapping, a permanent one only last.</summary>
    internal void ValidateOutages()
    {
        var free = TimeSpan.Zero;
        for (var i = 0; i < Outages.Count; i++)
        {
            var outage = Outages[i] ?? throw new ArgumentException($"Node '{Name}' has a null outage.", nameof(Outages));
            if (outage.At < free)
            {
                throw new ArgumentException($"Node '{Name}': outage {i} ({outage}) starts before the one before it ends; list outages in time order without overlap.", nameof(Outages));
            }

            if (outage.Duration is not { } down)
            {
                if (i != Outages.Count - 1)
                {
                    throw new ArgumentException($"Node '{Name}': outage {i} ({outage}) is permanent, so it must be the last.", nameof(Outages));
                }

                break;
            }

            free = outage.At + down;
        }
    }
}
