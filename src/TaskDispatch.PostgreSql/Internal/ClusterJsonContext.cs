using System.Text.Json.Serialization;

namespace TaskDispatch;

/// <summary>Source-generated JSON contracts for what the cluster itself writes (node resources).</summary>
[JsonSerializable(typeof(Dictionary<string, double>))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
