using System.Buffers;
using System.Text;
using System.Text.Json;

namespace TaskDispatch;

/// <summary>What one task's end looks like in a NOTIFY to its submitter: its outcome when it is small enough to travel
/// in the notification (then delivering a result costs the submitter no read), or only its id, with no
/// <see cref="State"/> (the submitter reads the outcome from the table).</summary>
internal readonly record struct EndedOutcome(string Id, TaskState? State, string? Result, string? Error, string? ErrorType);

/// <summary>The payload of a notification on the done channel: <c>member:[entry, ...]</c>, each entry either
/// <c>[id, state, result, error, error_type]</c> or <c>[id]</c>. Acknowledgements write the entries with
/// <see cref="Entry"/>; the reaper and cancels with the SQL of <see cref="ClusterSql.EndedPayloads"/>.</summary>
internal static class EndedNotice
{
    /// <summary>An entry whose JSON is longer than this travels as its id alone.</summary>
    internal const int MaxCarriedBytes = 1500;

    /// <summary>Entries are grouped into payloads of about this many bytes: a group closes past it, so a payload holds at
    /// most this plus one entry (<see cref="MaxCarriedBytes"/>) plus the member id, under the server's 8,000.</summary>
    internal const int PayloadBytes = 6000;

    /// <summary>Writes one task's entry as <see cref="ClusterSql.EndedPayloads"/> does: its outcome, or its id alone when
    /// the outcome's JSON would be longer than <see cref="MaxCarriedBytes"/> (texts already too long are not escaped
    /// first). The JSON is ASCII (everything else escaped), so its length is its size in the payload.</summary>
    /// <returns>The entry; <see langword="null"/> when even the id alone is longer than <see cref="MaxCarriedBytes"/>
    /// (a payload must stay under the server's 8,000 bytes): the submitter's sweep reads that outcome back.</returns>
    internal static string? Entry(string id, TaskState state, string? result, string? error, string? errorType)
    {
        if (id.Length + (result?.Length ?? 0) + (error?.Length ?? 0) + (errorType?.Length ?? 0) <= MaxCarriedBytes)
        {
            var full = Write(id, state, result, error, errorType, idOnly: false);
            if (full.Length <= MaxCarriedBytes)
            {
                return full;
            }
        }

        var idOnly = id.Length <= MaxCarriedBytes ? Write(id, state, result, error, errorType, idOnly: true) : null;
        return idOnly is { Length: <= MaxCarriedBytes } ? idOnly : null;
    }

    // One buffer and writer per thread, reused for every entry: an acknowledgement writes one entry per task, and a new
    // pair each time was a tenth of what the throughput benchmark allocated. Entries are at most a few kilobytes (longer
    // texts never get here), so the buffer stays small.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static string Write(string id, TaskState state, string? result, string? error, string? errorType, bool idOnly)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartArray();
        writer.WriteStringValue(id);
        if (!idOnly)
        {
            writer.WriteNumberValue((short)state);
            writer.WriteStringValue(result);
            writer.WriteStringValue(error);
            writer.WriteStringValue(errorType);
        }

        writer.WriteEndArray();
        writer.Flush();
        return Encoding.ASCII.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads the entries of a payload's JSON part (after <c>member:</c>).</summary>
    /// <exception cref="JsonException">The payload is not what <see cref="ClusterSql.EndedPayloads"/> writes.</exception>
    internal static List<EndedOutcome> Parse(ReadOnlySpan<char> json)
    {
        // An entry takes at least 40 characters with the ids this member makes up: the list rarely grows.
        var outcomes = new List<EndedOutcome>(json.Length / 40);
        var utf8 = new byte[Encoding.UTF8.GetByteCount(json)];
        Encoding.UTF8.GetBytes(json, utf8);
        var reader = new Utf8JsonReader(utf8);
        Expect(ref reader, JsonTokenType.StartArray);
        while (Next(ref reader) == JsonTokenType.StartArray)
        {
            Expect(ref reader, JsonTokenType.String);
            var id = reader.GetString()!;
            if (Next(ref reader) == JsonTokenType.EndArray)
            {
                outcomes.Add(new EndedOutcome(id, null, null, null, null));
                continue;
            }

            if (reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException($"An ended-tasks notification holds a {reader.TokenType} where a state was expected.");
            }

            var state = (TaskState)reader.GetInt16();
            var result = ReadNullableString(ref reader);
            var error = ReadNullableString(ref reader);
            var errorType = ReadNullableString(ref reader);
            Expect(ref reader, JsonTokenType.EndArray);
            outcomes.Add(new EndedOutcome(id, state, result, error, errorType));
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw new JsonException($"An ended-tasks notification holds a {reader.TokenType} where an entry was expected.");
        }

        return outcomes;
    }

    private static string? ReadNullableString(ref Utf8JsonReader reader) => Next(ref reader) switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        var other => throw new JsonException($"An ended-tasks notification holds a {other} where a text or null was expected."),
    };

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("An ended-tasks notification ends early.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected)
    {
        if (Next(ref reader) != expected)
        {
            throw new JsonException($"An ended-tasks notification holds a {reader.TokenType} where a {expected} was expected.");
        }
    }
}
