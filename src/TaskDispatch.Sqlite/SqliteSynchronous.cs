namespace TaskDispatch;

/// <summary>How hard SQLite makes each commit durable (its <c>synchronous</c> setting, in WAL mode).</summary>
public enum SqliteSynchronous
{
    /// <summary>Each commit is flushed to the disk before it is acknowledged: an acknowledged task survives a crash of
    /// the process, of the operating system and a power loss. The default.</summary>
    Full = 0,

    /// <summary>The write-ahead log is flushed only at checkpoints: an acknowledged task survives a crash of the process,
    /// but the last commits before an operating-system crash or a power loss may be lost. Several times faster per
    /// single commit.</summary>
    Normal = 1,
}
