using System.Diagnostics;
using Npgsql;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>The PostgreSQL server the tests use: the one <c>TASKDISPATCH_POSTGRES</c> names, or else a throw-away one
/// this run starts with <c>eng/postgres.sh</c> (installing PostgreSQL when missing) and stops at the end. Tests never
/// skip for want of a server: without one they fail, saying why.</summary>
[SetUpFixture]
public sealed class PostgresServer
{
    private const string Variable = "TASKDISPATCH_POSTGRES";
    private static string? _connectionString;
    private static string? _startedDirectory;

    /// <summary>Gets the connection string of the server.</summary>
    public static string ConnectionString => _connectionString ?? throw new InvalidOperationException("The PostgreSQL server was not set up.");

    [OneTimeSetUp]
    public void Start()
    {
        _connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(_connectionString))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail($"{Variable} is not set under CI=true: .ci/run starts a server with eng/postgres.sh and exports it; the PostgreSQL tests need it.");
            }

            _startedDirectory = Path.Combine(Path.GetTempPath(), $"taskdispatch-pg-tests-{Environment.ProcessId}");
            var output = RunScript("start", _startedDirectory);
            var start = output.IndexOf('\'', StringComparison.Ordinal);
            _connectionString = output[(start + 1)..output.LastIndexOf('\'')];
        }

        using var connection = new NpgsqlConnection(_connectionString);
        try
        {
            connection.Open();
        }
        catch (Exception exception)
        {
            Assert.Fail($"No PostgreSQL server answers at {Variable}='{_connectionString}': {exception.Message}. Start one with: eval \"$(eng/postgres.sh start)\"");
        }
    }

    [OneTimeTearDown]
    public void Stop()
    {
        NpgsqlConnection.ClearAllPools();
        if (_startedDirectory is not null)
        {
            RunScript("stop", _startedDirectory);
        }
    }

    /// <summary>A fresh schema for one test, so that tests never see each other's rows.</summary>
    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Runs SQL on the server and returns the first column of the first row.</summary>
    public static async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs SQL on the server.</summary>
    public static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Finds the repository root (where eng/postgres.sh is) from the test assembly's directory.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "eng", "postgres.sh")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("eng/postgres.sh not found above " + AppContext.BaseDirectory);
    }

    private static string RunScript(string command, string directory)
    {
        var script = Path.Combine(RepositoryRoot(), "eng", "postgres.sh");
        var info = new ProcessStartInfo("bash", [script, command, directory]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["TASKDISPATCH_PG_PORT"] = (54400 + (Environment.ProcessId % 500)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"eng/postgres.sh {command} failed (exit {process.ExitCode}): {errors}");
        }

        return output;
    }
}
