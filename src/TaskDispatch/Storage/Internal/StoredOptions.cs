using System.Text.Json;
using System.Text.Json.Serialization;

namespace TaskDispatch;

/// <summary>The options of a task that survive a restart, as the dispatcher writes them: everything but the
/// cancellation token (a process's own) and the delay (already turned into <see cref="StoredTask.ReadyAt"/>).</summary>
internal sealed class StoredOptions
{
    public string? Id { get; set; }

    public int Priority { get; set; }

    public TimeSpan? EstimatedDuration { get; set; }

    public string? Kind { get; set; }

    public DateTimeOffset? Deadline { get; set; }

    public string? FairnessKey { get; set; }

    public Dictionary<string, double>? ResourceDemand { get; set; }

    public List<string>? RequiredTags { get; set; }

    public List<string>? PreferredTags { get; set; }

    public string? RequiredNode { get; set; }

    public TimeSpan? Timeout { get; set; }

    public TimeSpan? OverallTimeout { get; set; }

    public TimeSpan? HeartbeatTimeout { get; set; }

    public int? MaxRetryAttempts { get; set; }

    internal static string Serialize(TaskOptions options) => JsonSerializer.Serialize(
        new StoredOptions
        {
            Id = options.Id,
            Priority = options.Priority,
            EstimatedDuration = options.EstimatedDuration,
            Kind = options.Kind,
            Deadline = options.Deadline,
            FairnessKey = options.FairnessKey,
            ResourceDemand = options.ResourceDemand is null ? null : new Dictionary<string, double>(options.ResourceDemand),
            RequiredTags = options.RequiredTags is null ? null : [.. options.RequiredTags],
            PreferredTags = options.PreferredTags is null ? null : [.. options.PreferredTags],
            RequiredNode = options.RequiredNode,
            Timeout = options.Timeout,
            OverallTimeout = options.OverallTimeout,
            HeartbeatTimeout = options.HeartbeatTimeout,
            MaxRetryAttempts = options.MaxRetryAttempts,
        },
        StorageJsonContext.Default.StoredOptions);

    // The tasks of one submission share their options, and a lease or a recovery reads them one after another: the
    // text read last on this thread is parsed once. Only read-only views of a parsed instance reach the options built
    // from it, so instances built from one parse can share its lists and tables.
    [ThreadStatic]
    private static (string Json, StoredOptions Parsed)? t_lastParsed;

    private static StoredOptions Parse(string json)
    {
        if (t_lastParsed is { } last && string.Equals(last.Json, json, StringComparison.Ordinal))
        {
            return last.Parsed;
        }

        var parsed = JsonSerializer.Deserialize(json, StorageJsonContext.Default.StoredOptions)
            ?? throw new JsonException("The stored options are empty.");
        t_lastParsed = (json, parsed);
        return parsed;
    }

    /// <summary>Reads stored options back; <see cref="TaskOptions.NotBefore"/> is the stored ready time.</summary>
    internal static TaskOptions Deserialize(string json, DateTimeOffset readyAt) => Deserialize(json, readyAt, id: null, requiredNode: null);

    /// <summary>Reads stored options back with another id and required node (a cluster pins a leased task to the node
    /// that leased it, under its cluster id); <paramref name="readyAt"/> becomes <see cref="TaskOptions.NotBefore"/>.</summary>
    internal static TaskOptions Deserialize(string json, DateTimeOffset? readyAt, string? id, string? requiredNode)
    {
        var stored = Parse(json);
        return new TaskOptions
        {
            Id = id ?? stored.Id,
            Priority = stored.Priority,
            EstimatedDuration = stored.EstimatedDuration,
            Kind = stored.Kind,
            Deadline = stored.Deadline,
            FairnessKey = stored.FairnessKey,
            ResourceDemand = stored.ResourceDemand,
            RequiredTags = stored.RequiredTags,
            PreferredTags = stored.PreferredTags,
            RequiredNode = requiredNode ?? stored.RequiredNode,
            Timeout = stored.Timeout,
            OverallTimeout = stored.OverallTimeout,
            HeartbeatTimeout = stored.HeartbeatTimeout,
            MaxRetryAttempts = stored.MaxRetryAttempts,
            NotBefore = readyAt,
        };
    }
}

/// <summary>Source-generated JSON contracts for what the dispatcher itself stores.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredOptions))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
