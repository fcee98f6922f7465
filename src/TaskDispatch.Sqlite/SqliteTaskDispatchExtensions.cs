using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch;

/// <summary>Makes a dispatcher durable on a SQLite file: <c>UseSqliteStore(path)</c>.</summary>
public static class SqliteTaskDispatchExtensions
{
    /// <summary>Keeps the dispatcher's tasks, outcomes, dead letters and checkpoints in the SQLite file at
    /// <paramref name="path"/>, so that no accepted task is lost when the process dies; see
    /// <see cref="TaskDispatcherBuilder.UseStore"/>.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="path">The database file; created if missing (its directory must exist).</param>
    /// <param name="configure">Sets the store's options; for example <see cref="SqliteTaskStoreOptions.Synchronous"/>.</param>
    /// <returns>The builder.</returns>
    public static TaskDispatcherBuilder UseSqliteStore(this TaskDispatcherBuilder builder, string path, Action<SqliteTaskStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseStore(Create(path, configure));
    }

    /// <summary>Keeps the dispatcher's tasks in the SQLite file at <paramref name="path"/>; see
    /// <see cref="UseSqliteStore(TaskDispatcherBuilder, string, Action{SqliteTaskStoreOptions}?)"/>.</summary>
    /// <param name="builder">The dispatcher's builder.</param>
    /// <param name="path">The database file; created if missing (its directory must exist).</param>
    /// <param name="configure">Sets the store's options.</param>
    /// <returns>The builder.</returns>
    public static ITaskDispatchBuilder UseSqliteStore(this ITaskDispatchBuilder builder, string path, Action<SqliteTaskStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new SqliteTaskStoreOptions();
        configure?.Invoke(options);
        options.Validate();
        return builder.UseStore(_ => new SqliteTaskStore(path, options));
    }

    private static SqliteTaskStore Create(string path, Action<SqliteTaskStoreOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new SqliteTaskStoreOptions();
        configure?.Invoke(options);
        return new SqliteTaskStore(path, options);
    }
}
