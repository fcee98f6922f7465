namespace TaskDispatch;

/// <summary>The configuration of one node: a named place where tasks run.</summary>
public sealed class NodeOptions
{
    /// <summary>Gets or sets how many tasks the node runs at once (its slots).</summary>
    /// <value>The default value is <see cref="Environment.ProcessorCount"/>. Must be at least 1.</value>
    public int MaxConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>Gets or sets the node's relative weight, for allocation strategies that use one.</summary>
    /// <value>The default value is 1. Must be finite and not negative.</value>
    public double Weight { get; set; } = 1;

    /// <summary>Gets the tags the node carries; tasks with <see cref="TaskOptions.RequiredTags"/> run only where all are present.</summary>
    /// <value>The default value is an empty set. Comparison is ordinal.</value>
    public ISet<string> Tags { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Gets the node's resource capacity by name (for example <c>cpu</c>, <c>memory</c>); the demands of the tasks running on it never exceed it.</summary>
    /// <value>The default value is empty: no named resources, so only tasks without a demand for them can run here.</value>
    public IDictionary<string, double> Resources { get; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Gets or sets how the node runs attempts.</summary>
    /// <value>The default value is <see langword="null"/>: in this process, on the thread pool.</value>
    public INodeExecutor? Executor { get; set; }

    /// <summary>Sets <see cref="Executor"/>.</summary>
    /// <param name="executor">The executor.</param>
    /// <returns>These options.</returns>
    public NodeOptions WithExecutor(INodeExecutor executor)
    {
        ArgumentNullException.ThrowIfNull(executor);
        Executor = executor;
        return this;
    }

    /// <summary>Sets <see cref="MaxConcurrency"/>.</summary>
    /// <param name="maxConcurrency">The number of slots.</param>
    /// <returns>These options.</returns>
    public NodeOptions WithConcurrency(int maxConcurrency)
    {
        MaxConcurrency = maxConcurrency;
        return this;
    }

    /// <summary>Sets <see cref="Weight"/>.</summary>
    /// <param name="weight">The relative weight.</param>
    /// <returns>These options.</returns>
    public NodeOptions WithWeight(double weight)
    {
        Weight = weight;
        return this;
    }

    /// <summary>Adds tags.</summary>
    /// <param name="tags">The tags to add.</param>
    /// <returns>These options.</returns>
    public NodeOptions WithTags(params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        foreach (var tag in tags)
        {
            Tags.Add(tag);
        }

        return this;
    }

    /// <summary>Sets the capacity of one named resource.</summary>
    /// <param name="name">The resource name.</param>
    /// <param name="capacity">The capacity.</param>
    /// <returns>These options.</returns>
    public NodeOptions WithResource(string name, double capacity)
    {
        ArgumentNullException.ThrowIfNull(name);
        Resources[name] = capacity;
        return this;
    }

    internal void Validate(string nodeName)
    {
        var path = $"Nodes[{nodeName}]";
        if (MaxConcurrency < 1)
        {
            throw new ArgumentOutOfRangeException($"{path}.{nameof(MaxConcurrency)}", MaxConcurrency, $"{path}.{nameof(MaxConcurrency)} must be at least 1, was {MaxConcurrency}.");
        }

        if (!double.IsFinite(Weight) || Weight < 0)
        {
            throw new ArgumentOutOfRangeException($"{path}.{nameof(Weight)}", Weight, $"{path}.{nameof(Weight)} must be finite and not negative, was {Weight}.");
        }

        foreach (var tag in Tags)
        {
            if (string.IsNullOrWhiteSpace(tag))
            {
                throw new ArgumentException($"{path}.{nameof(Tags)} contains an empty tag.", $"{path}.{nameof(Tags)}");
            }
        }

        foreach (var (resource, capacity) in Resources)
        {
            if (string.IsNullOrWhiteSpace(resource))
            {
                throw new ArgumentException($"{path}.{nameof(Resources)} contains an empty resource name.", $"{path}.{nameof(Resources)}");
            }

            if (!double.IsFinite(capacity) || capacity < 0)
            {
                throw new ArgumentOutOfRangeException($"{path}.{nameof(Resources)}", capacity, $"{path}.{nameof(Resources)}[{resource}] must be finite and not negative, was {capacity}.");
            }
        }
    }
}
