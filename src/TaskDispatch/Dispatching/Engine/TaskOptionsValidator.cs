namespace TaskDispatch;

/// <summary>Rejects bad task options at the call site, with an exception that names the offending property and what was
/// wrong; checks placement constraints against the dispatcher's current nodes.</summary>
internal sealed class TaskOptionsValidator(string dispatcherName, NodeSet nodes, TimeProvider timeProvider)
{
    private readonly string _dispatcherName = dispatcherName;
    private readonly NodeSet _nodes = nodes;
    private readonly TimeProvider _timeProvider = timeProvider;

    /// <summary>Rejects bad options at the call site, naming the offending property.</summary>
    internal void Validate(TaskOptions options)
    {
        if (options.Id is { } id)
        {
            if (string.IsNullOrWhiteSpace(id))
            {
                throw new ArgumentException("Task id must not be empty or white space.", "options.Id");
            }

            if (id.StartsWith(TaskDispatcherDefaults.GeneratedIdPrefix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Task id '{id}' must not start with '{TaskDispatcherDefaults.GeneratedIdPrefix}', which is reserved for generated ids.", "options.Id");
            }
        }

        if (options.EstimatedDuration is { } estimate && estimate < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options.EstimatedDuration", estimate, $"EstimatedDuration must not be negative, was {estimate}.");
        }

        ValidateTimeLimit(options.Timeout, "options.Timeout", allowInfinite: true);
        ValidateTimeLimit(options.OverallTimeout, "options.OverallTimeout", allowInfinite: true);
        ValidateTimeLimit(options.HeartbeatTimeout, "options.HeartbeatTimeout", allowInfinite: false);

        if (options.MaxRetryAttempts is { } retries && retries < 0)
        {
            throw new ArgumentOutOfRangeException("options.MaxRetryAttempts", retries, $"MaxRetryAttempts must not be negative, was {retries}.");
        }

        if (options.Delay is { } delay && delay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options.Delay", delay, $"Delay must not be negative, was {delay}.");
        }

        if (options.Delay is { } longDelay && longDelay > TaskDispatcherDefaults.MaxDelay)
        {
            throw new ArgumentOutOfRangeException("options.Delay", longDelay, $"Delay must be at most {TaskDispatcherDefaults.MaxDelay}, was {longDelay}.");
        }

        if (options.NotBefore is { } notBefore && notBefore - _timeProvider.GetUtcNow() > TaskDispatcherDefaults.MaxDelay)
        {
            throw new ArgumentOutOfRangeException("options.NotBefore", notBefore, $"NotBefore must be within {TaskDispatcherDefaults.MaxDelay} from now, was {notBefore:O}.");
        }

        if (options.Delay is not null && options.NotBefore is not null)
        {
            throw new ArgumentException("Set either Delay or NotBefore, not both.", "options.Delay");
        }

        if (options.ResourceDemand is { } demand)
        {
            foreach (var (resource, amount) in demand)
            {
                if (string.IsNullOrWhiteSpace(resource))
                {
                    throw new ArgumentException("ResourceDemand contains an empty resource name.", "options.ResourceDemand");
                }

                if (!double.IsFinite(amount) || amount < 0)
                {
                    throw new ArgumentOutOfRangeException("options.ResourceDemand", amount, $"ResourceDemand[{resource}] must be finite and not negative, was {amount}.");
                }
            }
        }

        if (options.RequiredTags is { } tags)
        {
            foreach (var tag in tags)
            {
                if (string.IsNullOrWhiteSpace(tag))
                {
                    throw new ArgumentException("RequiredTags contains an empty tag.", "options.RequiredTags");
                }
            }
        }

        if (options.PreferredTags is { } preferred)
        {
            foreach (var tag in preferred)
            {
                if (string.IsNullOrWhiteSpace(tag))
                {
                    throw new ArgumentException("PreferredTags contains an empty tag.", "options.PreferredTags");
                }
            }
        }

        if (options.RequiredNode is { } nodeName && _nodes.Find(nodeName) is null)
        {
            throw new ArgumentException($"RequiredNode '{nodeName}' is not a node of dispatcher '{_dispatcherName}'.", "options.RequiredNode");
        }

        if (options.RequiredNode is not null || options.RequiredTags is { Count: > 0 } || options.ResourceDemand is { Count: > 0 })
        {
            ThrowIfNoNodeCanEverRun(options);
        }
    }

    private static void ValidateTimeLimit(TimeSpan? limit, string name, bool allowInfinite)
    {
        if (limit is not { } value || (allowInfinite && value == Timeout.InfiniteTimeSpan))
        {
            return;
        }

        if (value <= TimeSpan.Zero || value > TaskDispatcherDefaults.MaxDelay)
        {
            var shortName = name["options.".Length..];
            throw new ArgumentOutOfRangeException(name, value, allowInfinite
                ? $"{shortName} must be positive and at most {TaskDispatcherDefaults.MaxDelay}, or Timeout.InfiniteTimeSpan; was {value}."
                : $"{shortName} must be positive and at most {TaskDispatcherDefaults.MaxDelay}; was {value}.");
        }
    }

    private void ThrowIfNoNodeCanEverRun(TaskOptions options)
    {
        foreach (var node in _nodes.Runtimes)
        {
            if (node.State.CanEverRun(options))
            {
                return;
            }
        }

        // Blame the first constraint that no node meets on its own; if each is met somewhere, it is their combination.
        if (options.RequiredTags is { Count: > 0 } && !AnyNodeCanRun(new TaskOptions { RequiredTags = options.RequiredTags }))
        {
            throw new ArgumentException($"No node of dispatcher '{_dispatcherName}' carries all of the RequiredTags [{string.Join(", ", options.RequiredTags)}].", "options.RequiredTags");
        }

        if (options.ResourceDemand is { Count: > 0 } && !AnyNodeCanRun(new TaskOptions { ResourceDemand = options.ResourceDemand }))
        {
            throw new ArgumentException($"No node of dispatcher '{_dispatcherName}' has the capacity for the ResourceDemand, even when idle.", "options.ResourceDemand");
        }

        throw new ArgumentException(
            $"No node of dispatcher '{_dispatcherName}' can ever run this task: none has the required node name, tags and resource capacity together.",
            options.RequiredNode is not null ? "options.RequiredNode" : "options");
    }

    private bool AnyNodeCanRun(TaskOptions options) => Array.Exists(_nodes.Runtimes, node => node.State.CanEverRun(options));

}
