using Microsoft.Data.Sqlite;

namespace TaskDispatch;

/// <summary>Turns SQLite's errors into <see cref="TaskStoreException"/>s that say which file, what is wrong and what to do.</summary>
internal static class SqliteErrors
{
    // SQLite's primary result codes (https://sqlite.org/rescode.html).
    private const int Busy = 5;
    private const int Locked = 6;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int NotADatabase = 26;

    internal static TaskStoreException Wrap(Exception exception, string path, string doing)
    {
        if (exception is TaskStoreException store)
        {
            return store;
        }

        if (exception is not SqliteException sqlite)
        {
            return new TaskStoreException($"The task store '{path}' failed while {doing}: {exception.Message}", exception);
        }

        var advice = (sqlite.SqliteErrorCode & 0xFF) switch
        {
            Full => "the disk is full (or the file reached its size limit); free space and retry. Nothing of this write was kept.",
            ReadOnly => "the file or its directory is read-only; give the process write access to both (SQLite writes a -wal and a -shm file beside it).",
            Corrupt or NotADatabase => "the file is corrupt or is not a SQLite database; restore it from a backup, or move it aside to start with an empty store.",
            Busy or Locked => "another process holds a lock on the database; TaskDispatch needs the file to itself.",
            CantOpen => "the file cannot be opened; check that its directory exists and is writable.",
            IoError => "the disk reported an I/O error; check the disk and free space.",
            _ => $"SQLite error {sqlite.SqliteErrorCode} ({sqlite.SqliteExtendedErrorCode}).",
        };
        return new TaskStoreException($"The task store '{path}' failed while {doing}: {advice} ({sqlite.Message})", sqlite);
    }
}
