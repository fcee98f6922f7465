using System.Diagnostics;
using System.Globalization;
using TaskDispatch;

/// <summary>Runs each word-count attempt in a child process (this program, started with <c>--count-words</c>), so a
/// crash or a leak in the work cannot take the dispatcher down. Other tasks run in this process.</summary>
internal sealed class ChildProcessNodeExecutor : INodeExecutor
{
    public async ValueTask ExecuteAsync(NodeAttempt attempt)
    {
        if (attempt.Input is not string text)
        {
            await attempt.RunLocallyAsync();
            return;
        }

        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("--count-words");
        start.ArgumentList.Add(text);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("The child process did not start.");
        var output = await child.StandardOutput.ReadToEndAsync(attempt.Context.CancellationToken);
        await child.WaitForExitAsync(attempt.Context.CancellationToken);

        // A failed child is the attempt's failure: the dispatcher's recovery policy decides what happens next.
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"The child process exited with code {child.ExitCode}.");
        }

        attempt.SetResult(int.Parse(output, CultureInfo.InvariantCulture));
    }
}
