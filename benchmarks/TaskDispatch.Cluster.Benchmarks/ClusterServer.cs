using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace TaskDispatch.Cluster.Benchmarks;

/// <summary>
/// The PostgreSQL server the cluster benchmarks run against, named by <see cref="ConnectionStringVariable"/>, and the
/// throw-away schemas and databases that keep one run's rows out of another's: each benchmark class creates its own
/// in its global setup (under a random name) and drops it in its global cleanup.
/// </summary>
internal static class ClusterServer
{
    /// <summary>The environment variable holding the server's Npgsql connection string.</summary>
    public const string ConnectionStringVariable = "TASKDISPATCH_POSTGRES";

    /// <summary>Gets the connection string in <see cref="ConnectionStringVariable"/>; throws when it is not set.</summary>
    public static string ConnectionString
    {
        get
        {
            var connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    $"The cluster benchmarks need a PostgreSQL server: set the environment variable {ConnectionStringVariable} " +
                    "to its Npgsql connection string (e.g. 'Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres'), " +
                    "or start a throw-away server and set it with: eval \"$(eng/postgres.sh start)\"");
            }

            return connectionString;
        }
    }

    /// <summary>
    /// Creates an empty schema named <paramref name="prefix"/>_ followed by random hex digits in the server's database
    /// and returns its name (unquoted; safe to quote as is). Drop it with <see cref="DropSchema"/>.
    /// </summary>
    /// <param name="prefix">Lower-case letters, digits and underscores, starting with a letter, at most 40 characters.</param>
    public static string CreateSchema(string prefix)
    {
        var schema = UniqueName(prefix);
        Execute(ConnectionString, $"CREATE SCHEMA \"{schema}\";");
        return schema;
    }

    /// <summary>Drops <paramref name="schema"/> and everything in it; does nothing when it does not exist.</summary>
    public static void DropSchema(string schema)
    {
        ValidateName(schema, nameof(schema));
        Execute(ConnectionString, $"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;");
    }

    /// <summary>
    /// Creates an empty database named <paramref name="prefix"/>_ followed by random hex digits and returns the
    /// connection string for it (the server's, with the database replaced). Drop it with <see cref="DropDatabase"/>.
    /// </summary>
    /// <param name="prefix">Lower-case letters, digits and underscores, starting with a letter, at most 40 characters.</param>
    public static string CreateDatabase(string prefix)
    {
        var database = UniqueName(prefix);
        // CREATE DATABASE cannot run in a transaction block, which a single statement without BEGIN is not.
        Execute(ConnectionString, $"CREATE DATABASE \"{database}\";");
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = database }.ConnectionString;
    }

    /// <summary>
    /// Drops the database <paramref name="databaseConnectionString"/> (from <see cref="CreateDatabase"/>) connects to,
    /// closing the connections still open to it; does nothing when it does not exist.
    /// </summary>
    public static void DropDatabase(string databaseConnectionString)
    {
        var database = new NpgsqlConnectionStringBuilder(databaseConnectionString).Database
            ?? throw new ArgumentException("The connection string names no database.", nameof(databaseConnectionString));
        ValidateName(database, nameof(databaseConnectionString));

        // The idle connections this process pooled for the database would make the drop wait or fail.
        using (var pooled = new NpgsqlConnection(databaseConnectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        // WITH (FORCE) (PostgreSQL 13+) also ends any session another process still has open to it.
        Execute(ConnectionString, $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE);");
    }

    private static string UniqueName(string prefix)
    {
        ValidateName(prefix, nameof(prefix));
        if (prefix.Length > 40)
        {
            throw new ArgumentException($"'{prefix}' is longer than 40 characters.", nameof(prefix));
        }

        // 12 hex digits: PostgreSQL identifiers keep at most 63 bytes.
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}_{RandomNumberGenerator.GetHexString(12, lowercase: true)}");
    }

    // The names are spliced into DDL (which takes no parameters), so only plain lower-case identifiers are accepted.
    private static void ValidateName(string name, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, parameterName);
        if (!char.IsAsciiLetterLower(name[0]) || !name.All(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException(
                $"'{name}' is not a plain identifier: use lower-case ASCII letters, digits and underscores, starting with a letter.",
                parameterName);
        }
    }

    public static void Execute(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
