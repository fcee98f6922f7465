using System.Text.Json.Serialization;

namespace TaskDispatch;

/// <summary>Source-generated JSON contracts for what the SQLite store keeps as JSON: a task's failed attempts.</summary>
[JsonSerializable(typeof(List<StoredAttemptFailure>))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
