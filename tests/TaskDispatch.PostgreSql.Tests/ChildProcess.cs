using System.Diagnostics;
using System.Text;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>A child process whose standard output is read as it comes, always. A child whose output nobody reads blocks
/// once the pipe's 64 KB are full, and a cluster member that logs warnings (a peer died, a write was refused) then stops
/// in the middle of its loops: the test would wait for a recovery that the blocked member never makes.</summary>
internal sealed class ChildProcess
{
    private readonly StringBuilder _transcript = new();
    private readonly TaskCompletionSource<string?> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _outputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ChildProcess(string name, ProcessStartInfo info)
    {
        Name = name;
        Process = new Process { StartInfo = info };
        Process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null)
            {
                _firstLine.TrySetResult(null);
                _outputEnded.TrySetResult();
                return;
            }

            lock (_transcript)
            {
                _transcript.AppendLine(line.Data);
            }

            _firstLine.TrySetResult(line.Data);
        };
        Process.Start();
        Process.BeginOutputReadLine();
    }

    /// <summary>Gets what the test calls the child, for its transcript.</summary>
    internal string Name { get; }

    internal Process Process { get; }

    /// <summary>Gets everything the child wrote so far.</summary>
    internal string Transcript
    {
        get
        {
            lock (_transcript)
            {
                return _transcript.ToString();
            }
        }
    }

    /// <summary>The first line the child wrote, or <see langword="null"/> if it ended without one.</summary>
    internal Task<string?> FirstLineAsync() => _firstLine.Task;

    /// <summary>Everything the child wrote, once it has exited and its output is read to the end.</summary>
    internal async Task<string> OutputAsync()
    {
        await Process.WaitForExitAsync().ConfigureAwait(false);
        await _outputEnded.Task.ConfigureAwait(false);
        return Transcript;
    }
}
