using Microsoft.Data.Sqlite;

namespace TaskDispatch;

/// <summary>The store's tables, and their version in SQLite's <c>user_version</c>: a file of a newer version is refused
/// rather than misread.</summary>
internal static class SqliteSchema
{
    /// <summary>The version this package writes and reads.</summary>
    internal const int Version = 1;

    private const string CreateVersion1 = """
        CREATE TABLE IF NOT EXISTS tasks (
            id TEXT NOT NULL PRIMARY KEY,
            sequence INTEGER NOT NULL,
            handler TEXT NOT NULL,
            input TEXT NOT NULL,
            options TEXT NOT NULL,
            priority INTEGER NOT NULL,
            deadline INTEGER NULL,
            caller_id INTEGER NOT NULL,
            submitted_at INTEGER NOT NULL,
            ready_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            concluded INTEGER NOT NULL DEFAULT 0,
            last_node TEXT NULL,
            started_at INTEGER NULL,
            state INTEGER NULL,
            result TEXT NULL,
            error_type TEXT NULL,
            error_message TEXT NULL,
            failures TEXT NULL,
            ended_at INTEGER NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS tasks_unfinished ON tasks (sequence) WHERE state IS NULL;
        CREATE INDEX IF NOT EXISTS tasks_ended ON tasks (ended_at) WHERE state IS NOT NULL;
        CREATE TABLE IF NOT EXISTS checkpoints (
            task_id TEXT NOT NULL PRIMARY KEY,
            incarnation INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            data BLOB NOT NULL,
            saved_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('last_sequence', 0) ON CONFLICT (key) DO NOTHING;
        """;

    /// <summary>Creates the tables in a new file, or checks the version of an existing one.</summary>
    internal static void Ensure(SqliteConnection connection, string path)
    {
        var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new TaskStoreException(
                $"The task store '{path}' has schema version {version}, written by a newer TaskDispatch.Sqlite; this version reads up to {Version}. Upgrade the package, or point the store at another file.");
        }

        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, CreateVersion1);
        if (version < Version)
        {
            Execute(connection, transaction, $"PRAGMA user_version = {Version};");
        }

        // A write on every open, so that a file we cannot write is found now, not at the first submission.
        Execute(connection, transaction, "INSERT INTO meta (key, value) VALUES ('opened', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1;");
        transaction.Commit();
    }

    internal static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    internal static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
