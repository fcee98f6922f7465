using Microsoft.Data.Sqlite;

namespace TaskDispatch;

/// <summary>A durable task store in one SQLite file, for a dispatcher in one process: tasks, attempts, outcomes, dead
/// letters and checkpoints survive a crash of the process (and, with <see cref="SqliteSynchronous.Full"/>, a power loss).
/// Writes go through one writer that commits whatever is waiting together (group commit), in WAL mode.</summary>
/// <remarks>
/// One process owns the file at a time: a lock file beside it (<c>{path}.lock</c>) keeps a second store, in this process
/// or another, from replaying the same tasks; the operating system releases it when the process dies, however it dies.
/// Use it with <c>UseSqliteStore(path)</c>; see docs/durability.md.
/// </remarks>
public sealed class SqliteTaskStore : ITaskStore, ICheckpointStore, IAsyncDisposable, IDisposable
{
    private readonly SqliteTaskStoreOptions _options;
    private readonly Lock _readLock = new();
    private readonly Lock _openLock = new();
    private FileStream? _lockFile;
    private SqliteConnection? _writeConnection;
    private SqliteConnection? _readConnection;
    private SqliteWriter? _writer;
    private bool _disposed;

    /// <summary>Creates a store over the SQLite file at <paramref name="path"/>; the file is created on first open if
    /// missing, its directory is not.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="options">Options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">Thrown when <paramref name="path"/> is empty or an option is invalid.</exception>
    public SqliteTaskStore(string path, SqliteTaskStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _options = options ?? new SqliteTaskStoreOptions();
        _options.Validate();
    }

    /// <summary>Gets the full path of the database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public ValueTask<TaskStoreContents> OpenAsync(TimeSpan retention, int maxEnded, CancellationToken cancellationToken)
    {
        EnsureOpen();
        _writer!.Retention = retention;
        var cutoff = (_options.TimeProvider.GetUtcNow() - retention).UtcTicks;
        return ValueTask.FromResult(Read("reading the tasks to replay", connection =>
        {
            var unfinished = Query(connection, $"{SelectTask} WHERE state IS NULL ORDER BY sequence;");
            var ended = maxEnded == 0
                ? []
                : Query(connection, $"{SelectTask} WHERE state IS NOT NULL AND ended_at >= $cutoff ORDER BY ended_at DESC LIMIT $max;", ("$cutoff", cutoff), ("$max", maxEnded));
            var last = Convert.ToInt64(
                SqliteSchema.Scalar(connection, "SELECT MAX(COALESCE((SELECT MAX(sequence) FROM tasks), 0), (SELECT value FROM meta WHERE key = 'last_sequence'));"),
                System.Globalization.CultureInfo.InvariantCulture);
            return new TaskStoreContents(unfinished, ended, last);
        }));
    }

    /// <inheritdoc />
    public ValueTask AddAsync(StoredTask task, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new ValueTask(Writer.Add(task).WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask AttemptStartedAsync(string taskId, long sequenceNumber, int attempt, string nodeName, DateTimeOffset startedAt, IReadOnlyList<StoredAttemptFailure> failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        ArgumentNullException.ThrowIfNull(failures);
        return new ValueTask(Writer.AttemptStarted(taskId, sequenceNumber, attempt, nodeName, startedAt, failures).WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask LeftUnfinishedAsync(string taskId, long sequenceNumber, int concludedAttempts, IReadOnlyList<StoredAttemptFailure> failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        ArgumentNullException.ThrowIfNull(failures);
        return new ValueTask(Writer.LeftUnfinished(taskId, sequenceNumber, concludedAttempts, failures).WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask EndAsync(TaskOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return new ValueTask(Writer.End(outcome).WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<StoredTask?> FindAsync(string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        EnsureOpen();
        return ValueTask.FromResult(Read("looking a task up", connection =>
            Query(connection, $"{SelectTask} WHERE id = $id;", ("$id", taskId)).FirstOrDefault()));
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(TaskCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return new ValueTask(Writer.SaveCheckpoint(checkpoint).WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<TaskCheckpoint?> LoadAsync(string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        EnsureOpen();
        return ValueTask.FromResult(Read("loading a checkpoint", connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT incarnation, attempt, data, saved_at FROM checkpoints WHERE task_id = $id;";
            command.Parameters.AddWithValue("$id", taskId);
            using var row = command.ExecuteReader();
            return row.Read()
                ? new TaskCheckpoint(taskId, row.GetInt32(1), (byte[])row.GetValue(2), new DateTimeOffset(row.GetInt64(3), TimeSpan.Zero), row.GetInt64(0))
                : null;
        }));
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        return new ValueTask(Writer.DeleteCheckpoint(taskId).WaitAsync(cancellationToken));
    }

    /// <summary>Compacts now: ended tasks past retention, or beyond <see cref="SqliteTaskStoreOptions.MaxEndedTasks"/>,
    /// are deleted with their checkpoints. It also runs every <see cref="SqliteTaskStoreOptions.CompactionInterval"/>.</summary>
    /// <returns>A task that completes when the compaction is committed.</returns>
    public Task CompactAsync() => Writer.Compact();

    /// <summary>Waits for the writes already made, then closes the file and releases its lock.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        SqliteWriter? writer;
        lock (_openLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            writer = _writer;
        }

        if (writer is not null)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }

        Close();
    }

    /// <summary>Closes the store as <see cref="DisposeAsync"/> does, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Gets how many transactions the writer committed; group commit makes it fewer than the writes.</summary>
    internal long Commits => _writer?.Commits ?? 0;

    private SqliteWriter Writer
    {
        get
        {
            EnsureOpen();
            return _writer!;
        }
    }

    private const string SelectTask = """
        SELECT id, sequence, handler, input, options, priority, deadline, caller_id, submitted_at, ready_at, attempts, last_node,
               started_at, state, result, error_type, error_message, ended_at, failures, concluded
        FROM tasks
        """;

    private static List<StoredTask> Query(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var tasks = new List<StoredTask>();
        using var row = command.ExecuteReader();
        while (row.Read())
        {
            var id = row.GetString(0);
            tasks.Add(new StoredTask
            {
                Id = id,
                SequenceNumber = row.GetInt64(1),
                Handler = row.GetString(2),
                Input = row.GetString(3),
                Options = row.GetString(4),
                Priority = row.GetInt32(5),
                Deadline = row.IsDBNull(6) ? null : Utc(row.GetInt64(6)),
                HasCallerId = row.GetInt32(7) != 0,
                SubmittedAt = Utc(row.GetInt64(8)),
                ReadyAt = Utc(row.GetInt64(9)),
                Attempts = row.GetInt32(10),
                LastNode = row.IsDBNull(11) ? null : row.GetString(11),
                StartedAt = row.IsDBNull(12) ? null : Utc(row.GetInt64(12)),
                Failures = ReadFailures(row, 18),
                ConcludedAttempts = row.GetInt32(19),
                Outcome = row.IsDBNull(13) ? null : new TaskOutcome
                {
                    TaskId = id,
                    SequenceNumber = row.GetInt64(1),
                    State = (TaskState)row.GetInt32(13),
                    Result = row.IsDBNull(14) ? null : row.GetString(14),
                    ErrorType = row.IsDBNull(15) ? null : row.GetString(15),
                    ErrorMessage = row.IsDBNull(16) ? null : row.GetString(16),
                    Failures = ReadFailures(row, 18),
                    Attempts = row.GetInt32(10),
                    EndedAt = Utc(row.GetInt64(17)),
                },
            });
        }

        return tasks;
    }

    private static DateTimeOffset Utc(long ticks) => new(ticks, TimeSpan.Zero);

    private static List<StoredAttemptFailure> ReadFailures(SqliteDataReader row, int column) =>
        row.IsDBNull(column) ? [] : System.Text.Json.JsonSerializer.Deserialize(row.GetString(column), SqliteJsonContext.Default.ListStoredAttemptFailure) ?? [];

    private T Read<T>(string doing, Func<SqliteConnection, T> read)
    {
        lock (_readLock)
        {
            try
            {
                return read(_readConnection!);
            }
            catch (Exception exception) when (exception is SqliteException or InvalidCastException or System.Text.Json.JsonException)
            {
                throw SqliteErrors.Wrap(exception, Path, doing);
            }
        }
    }

    /// <summary>Opens the file once: its directory must exist; the lock file must be ours; WAL, the synchronous level
    /// and the busy timeout set; the schema created or checked; a write tried.</summary>
    private void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        if (Volatile.Read(ref _writer) is not null)
        {
            return;
        }

        lock (_openLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is not null)
            {
                return;
            }

            try
            {
                Open();
            }
            catch
            {
                Close();
                throw;
            }
        }
    }

    private void Open()
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        if (!Directory.Exists(directory))
        {
            throw new TaskStoreException($"The task store '{Path}' cannot be opened: its directory '{directory}' does not exist. Create it first (the store creates the file, not its directories).");
        }

        try
        {
            _lockFile = new FileStream(Path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException exception)
        {
            throw new TaskStoreException($"The task store '{Path}' is in use by another store, in this process or another (its lock file '{Path}.lock' is held). One dispatcher owns a store file at a time.", exception);
        }
        catch (UnauthorizedAccessException exception)
        {
            throw new TaskStoreException($"The task store '{Path}' cannot be opened for writing: its lock file '{Path}.lock' cannot be created or written, so the file or its directory is read-only for this process. Give it write access to both (SQLite also keeps '-wal' and '-shm' files beside the file).", exception);
        }

        try
        {
            var connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                DefaultTimeout = (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds),
            }.ToString();
            _writeConnection = new SqliteConnection(connectionString);
            _writeConnection.Open();
            var journal = SqliteSchema.Scalar(_writeConnection, "PRAGMA journal_mode = WAL;") as string;
            if (!string.Equals(journal, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new TaskStoreException($"The task store '{Path}' could not switch to write-ahead logging (journal mode is '{journal}'); the file system may not support it, or the file is read-only.");
            }

            var synchronous = _options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL";
            SqliteSchema.Execute(_writeConnection, null, $"PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds};");
            SqliteSchema.Ensure(_writeConnection, Path);
            if (_options.MaxPageCount is { } pages)
            {
                SqliteSchema.Execute(_writeConnection, null, $"PRAGMA max_page_count = {pages};");
            }

            _readConnection = new SqliteConnection(connectionString);
            _readConnection.Open();
            SqliteSchema.Execute(_readConnection, null, $"PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds};");
        }
        catch (Exception exception) when (exception is SqliteException or InvalidOperationException)
        {
            throw SqliteErrors.Wrap(exception, Path, "opening");
        }

        Volatile.Write(ref _writer, new SqliteWriter(_writeConnection, Path, _options));
    }

    private void Close()
    {
        _readConnection?.Dispose();
        _writeConnection?.Dispose();
        _lockFile?.Dispose();
        _readConnection = null;
        _writeConnection = null;
        _lockFile = null;
    }
}
