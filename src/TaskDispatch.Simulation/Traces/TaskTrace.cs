using System.Globalization;
using System.Text;

namespace TaskDispatch.Simulation;

/// <summary>A workload as it happened: each task's arrival, duration and options, recorded from a live dispatcher by a
/// <see cref="TaskTraceRecorder"/> or written by hand, kept in CSV, and replayed by the simulator with
/// <see cref="ToWorkload"/>.</summary>
/// <remarks>
/// The CSV has a header line and one line per task, in this column order:
/// <c>arrival_ms,duration_ms,kind,priority,deadline_ms,fairness_key,estimate_ms,required_node,required_tags,resources,max_retry_attempts,timeout_ms,outcome</c>.
/// Times are milliseconds with up to four decimals (100 ns, a tick); an empty field is "none"; <c>required_tags</c>
/// separates tags with <c>;</c> and <c>resources</c> is <c>name=amount</c> pairs separated by <c>;</c>; a field with a
/// comma, quote or line break is quoted as RFC 4180 says. The deadline counts from the task's arrival (negative for a
/// task already late when it arrived).
/// </remarks>
public sealed class TaskTrace
{
    private const string Header = "arrival_ms,duration_ms,kind,priority,deadline_ms,fairness_key,estimate_ms,required_node,required_tags,resources,max_retry_attempts,timeout_ms,outcome";
    private static readonly int s_columns = Header.Split(',').Length;

    /// <summary>Initializes a new instance of the <see cref="TaskTrace"/> class.</summary>
    /// <param name="records">The tasks, in any order: they are kept in arrival order (ties in the order given).</param>
    /// <exception cref="ArgumentException">A record is null; has a negative arrival, duration, estimate or timeout; has
    /// an outcome other than completed or failed; or has a tag with <c>;</c> or a resource name with <c>;</c> or <c>=</c>,
    /// which the CSV uses as separators.</exception>
    public TaskTrace(IEnumerable<TraceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var record = list[i] ?? throw new ArgumentException($"Record {i} is null.", nameof(records));
            if (Problem(record) is { } problem)
            {
                throw new ArgumentException($"Record {i} {problem}.", nameof(records));
            }
        }

        Records = [.. list.OrderBy(record => record.Arrival)];
    }

    /// <summary>Gets the tasks, in arrival order.</summary>
    public IReadOnlyList<TraceRecord> Records { get; }

    /// <summary>Reads a trace from CSV.</summary>
    /// <param name="reader">The CSV text.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="FormatException">The text is not a trace: the header or a line is wrong; the message names the line.</exception>
    public static TaskTrace Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var records = new List<TraceRecord>();
        var line = 0;
        var header = ReadRow(reader, ref line);
        if (header is null || !string.Equals(string.Join(',', header), Header, StringComparison.Ordinal))
        {
            throw new FormatException($"Line 1 of the trace must be the header '{Header}'.");
        }

        while (true)
        {
            var first = line + 1;
            var row = ReadRow(reader, ref line);
            if (row is null)
            {
                break;
            }

            if (row.Count == 1 && row[0].Length == 0)
            {
                continue;
            }

            if (row.Count != s_columns)
            {
                throw new FormatException($"Line {first} of the trace has {row.Count} fields; a trace line has {s_columns}.");
            }

            records.Add(Parse(row, first));
        }

        return new TaskTrace(records);
    }

    /// <summary>Reads a trace from a CSV file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="FormatException">The file is not a trace.</exception>
    public static TaskTrace Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        return Read(reader);
    }

    /// <summary>Writes the trace as CSV.</summary>
    /// <param name="writer">Where to write.</param>
    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Header);
        writer.Write('\n');
        var fields = new string[s_columns];
        foreach (var record in Records)
        {
            fields[0] = Milliseconds(record.Arrival);
            fields[1] = Milliseconds(record.Duration);
            fields[2] = record.Kind ?? string.Empty;
            fields[3] = record.Priority.ToString(CultureInfo.InvariantCulture);
            fields[4] = record.Deadline is { } deadline ? Milliseconds(deadline) : string.Empty;
            fields[5] = record.FairnessKey ?? string.Empty;
            fields[6] = record.EstimatedDuration is { } estimate ? Milliseconds(estimate) : string.Empty;
            fields[7] = record.RequiredNode ?? string.Empty;
            fields[8] = record.RequiredTags is { } tags ? string.Join(';', tags) : string.Empty;
            fields[9] = record.ResourceDemand is { } demand
                ? string.Join(';', demand.Select(pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Key}={pair.Value:R}")))
                : string.Empty;
            fields[10] = record.MaxRetryAttempts?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
            fields[11] = record.Timeout is { } timeout ? Milliseconds(timeout) : string.Empty;
            fields[12] = record.Outcome.ToString();
            for (var i = 0; i < fields.Length; i++)
            {
                if (i > 0)
                {
                    writer.Write(',');
                }

                WriteField(writer, fields[i]);
            }

            writer.Write('\n');
        }
    }

    /// <summary>Writes the trace to a CSV file, replacing it.</summary>
    /// <param name="path">The file.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(writer);
    }

    /// <summary>Makes the workload that replays the trace: each task arrives when it did, runs its recorded duration
    /// (divided by the speed of the node the simulator runs it on), and has its recorded options. Recorded outcomes are
    /// not replayed: a task fails in a simulation only by its timeout, its nodes' failure rates and outages.</summary>
    /// <param name="seed">The workload's seed, which draws the nodes' failures.</param>
    /// <returns>The workload.</returns>
    /// <exception cref="InvalidOperationException">The trace has no tasks.</exception>
    public SimulatedWorkload ToWorkload(int seed = 1)
    {
        if (Records.Count == 0)
        {
            throw new InvalidOperationException("The trace has no tasks to simulate.");
        }

        var options = Records.Select(record => record.ToOptions()).ToArray();
        return new SimulatedWorkload
        {
            Count = Records.Count,
            Arrivals = Arrivals.Replay([.. Records.Select(record => record.Arrival.Ticks)]),
            ServiceTime = ServiceTime.Replay([.. Records.Select(record => record.Duration.Ticks)]),
            Options = (task, _) => options[task.Index],
            Seed = seed,
        };
    }

    /// <summary>What is wrong with a record, if anything.</summary>
    private static string? Problem(TraceRecord record)
    {
        if (record.Arrival < TimeSpan.Zero || record.Duration < TimeSpan.Zero || record.EstimatedDuration < TimeSpan.Zero || record.Timeout < TimeSpan.Zero)
        {
            return $"has a negative arrival ({record.Arrival}), duration ({record.Duration}), estimate or timeout";
        }

        if (record.Outcome is not (TaskState.Completed or TaskState.Failed))
        {
            return $"has outcome {record.Outcome}; a trace records completed and failed tasks";
        }

        if (record.RequiredTags?.FirstOrDefault(tag => tag is not null && tag.Contains(';', StringComparison.Ordinal)) is { } badTag)
        {
            return $"has tag '{badTag}', with ';', which separates tags in the CSV";
        }

        if (record.ResourceDemand?.Keys.FirstOrDefault(name => name.AsSpan().IndexOfAny(";=") >= 0) is { } badResource)
        {
            return $"has resource '{badResource}', with ';' or '=', which separate resources in the CSV";
        }

        return null;
    }

    private static TraceRecord Parse(List<string> row, int line)
    {
        try
        {
            return new TraceRecord
            {
                Arrival = ParseMilliseconds(row[0], "arrival_ms") ?? throw new FormatException("arrival_ms is required."),
                Duration = ParseMilliseconds(row[1], "duration_ms") ?? throw new FormatException("duration_ms is required."),
                Kind = Optional(row[2]),
                Priority = row[3].Length == 0 ? 0 : int.Parse(row[3], NumberStyles.Integer, CultureInfo.InvariantCulture),
                Deadline = ParseMilliseconds(row[4], "deadline_ms", mayBeNegative: true),
                FairnessKey = Optional(row[5]),
                EstimatedDuration = ParseMilliseconds(row[6], "estimate_ms"),
                RequiredNode = Optional(row[7]),
                RequiredTags = row[8].Length == 0 ? null : row[8].Split(';'),
                ResourceDemand = row[9].Length == 0 ? null : ParseResources(row[9]),
                MaxRetryAttempts = row[10].Length == 0 ? null : int.Parse(row[10], NumberStyles.Integer, CultureInfo.InvariantCulture),
                Timeout = ParseMilliseconds(row[11], "timeout_ms"),
                Outcome = row[12] switch
                {
                    "" or "Completed" => TaskState.Completed,
                    "Failed" => TaskState.Failed,
                    _ => throw new FormatException($"outcome must be Completed or Failed, was '{row[12]}'."),
                },
            };
        }
        catch (Exception exception) when (exception is FormatException or OverflowException or ArgumentException)
        {
            throw new FormatException($"Line {line} of the trace is not valid: {exception.Message}", exception);
        }
    }

    private static string? Optional(string field) => field.Length == 0 ? null : field;

    private static TimeSpan? ParseMilliseconds(string field, string column, bool mayBeNegative = false)
    {
        if (field.Length == 0)
        {
            return null;
        }

        // A deadline may lie before the arrival (a task already late when submitted); nothing else may be negative.
        var milliseconds = decimal.Parse(field, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (milliseconds < 0 && !mayBeNegative)
        {
            throw new FormatException($"{column} must not be negative, was {field}.");
        }

        return TimeSpan.FromTicks((long)Math.Round(milliseconds * TimeSpan.TicksPerMillisecond));
    }

    private static Dictionary<string, double> ParseResources(string field)
    {
        var demand = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var pair in field.Split(';'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"resources must be name=amount pairs separated by ';', was '{field}'.");
            }

            demand[pair[..equals]] = double.Parse(pair[(equals + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return demand;
    }

    private static string Milliseconds(TimeSpan value) =>
        (value.Ticks / (decimal)TimeSpan.TicksPerMillisecond).ToString("0.####", CultureInfo.InvariantCulture);

    private static void WriteField(TextWriter writer, string field)
    {
        if (field.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            writer.Write(field);
            return;
        }

        writer.Write('"');
        writer.Write(field.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }

    /// <summary>Reads one CSV row (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks); null at the end.</summary>
    private static List<string>? ReadRow(TextReader reader, ref int line)
    {
        var next = reader.Read();
        if (next < 0)
        {
            return null;
        }

        line++;
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        while (true)
        {
            if (next < 0)
            {
                if (quoted)
                {
                    throw new FormatException($"Line {line} of the trace ends inside a quoted field.");
                }

                fields.Add(field.ToString());
                return fields;
            }

            var c = (char)next;
            if (quoted)
            {
                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && reader.Peek() == '\n')
                {
                    reader.Read();
                }

                fields.Add(field.ToString());
                return fields;
            }
            else
            {
                field.Append(c);
            }

            next = reader.Read();
        }
    }
}
