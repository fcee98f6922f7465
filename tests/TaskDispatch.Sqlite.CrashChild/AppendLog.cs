namespace TaskDispatch.Sqlite.CrashChild;

/// <summary>Appends lines to a file with one write call each, unbuffered in the process, so a SIGKILL loses none that
/// were appended.</summary>
public sealed class AppendLog(string path) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly FileStream _file = new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);

    public void Append(string line)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        lock (_lock)
        {
            _file.Write(bytes);
        }
    }

    public void Dispose() => _file.Dispose();
}
