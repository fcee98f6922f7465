using System.Globalization;

namespace BenchmarkCharts;

/// <summary>One BenchmarkDotNet CSV report: a row per benchmark case, values as BenchmarkDotNet formatted them.</summary>
internal sealed class BenchmarkReport
{
    private readonly string[] _header;
    private readonly List<string[]> _rows;

    private BenchmarkReport(string[] header, List<string[]> rows)
    {
        _header = header;
        _rows = rows;
    }

    internal IReadOnlyList<string[]> Rows => _rows;

    /// <summary>Reads the report of a benchmark class from the results folder, or returns null if it did not run.</summary>
    internal static BenchmarkReport? Load(string resultsDirectory, string benchmarkClass)
    {
        var path = Path.Combine(resultsDirectory, $"TaskDispatch.Benchmarks.{benchmarkClass}-report.csv");
        if (!File.Exists(path))
        {
            // Classes in a sub-namespace (External) carry it in the file name.
            path = Directory.EnumerateFiles(resultsDirectory, $"*.{benchmarkClass}-report.csv").FirstOrDefault() ?? path;
        }

        if (!File.Exists(path))
        {
            return null;
        }

        var lines = File.ReadAllLines(path);
        return new BenchmarkReport(SplitCsv(lines[0]), [.. lines.Skip(1).Where(static l => l.Length > 0).Select(SplitCsv)]);
    }

    internal string Text(string[] row, string column) => row[Array.IndexOf(_header, column)].Trim('\'', '"');

    /// <summary>A duration column ("11.34 ms", "1,234.5 μs") in seconds.</summary>
    internal double Seconds(string[] row, string column)
    {
        var text = Text(row, column);
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var value = double.Parse(parts[0].Replace(",", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture);
        return parts.Length < 2 ? value : value * parts[1] switch
        {
            "ns" => 1e-9,
            "us" or "μs" or "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1,
            _ => throw new FormatException($"Unknown unit in '{text}'."),
        };
    }

    /// <summary>A plain number column ("2,856.4", "1.00") as a double; NaN for "-" or "NA".</summary>
    internal double Number(string[] row, string column)
    {
        var text = Text(row, column).Split(' ')[0].Replace(",", string.Empty, StringComparison.Ordinal);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;
    }

    private static string[] SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return [.. fields];
    }
}
