namespace TaskDispatch;

/// <summary>Helpers for <see cref="TaskState"/>.</summary>
public static class TaskStateExtensions
{
    /// <summary>Tells whether <paramref name="state"/> is one of the terminal states.</summary>
    /// <param name="state">The state to test.</param>
    /// <returns><see langword="true"/> for <see cref="TaskState.Completed"/>, <see cref="TaskState.Failed"/> and <see cref="TaskState.Cancelled"/>.</returns>
    public static bool IsTerminal(this TaskState state) => state >= TaskState.Completed;
}
