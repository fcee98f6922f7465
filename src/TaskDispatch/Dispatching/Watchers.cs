using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>Lock-free copy-on-write lists of watcher channels, shared by per-task and dispatcher-wide watching.</summary>
internal static class Watchers
{
    /// <summary>Adds a watcher. The compare-and-swap is a full fence, so a state read after it sees every earlier transition.</summary>
    internal static void Add(ref Channel<TaskStateChange>[]? list, Channel<TaskStateChange> watcher)
    {
        while (true)
        {
            var current = Volatile.Read(ref list);
            Channel<TaskStateChange>[] updated = current is null ? [watcher] : [.. current, watcher];
            if (Interlocked.CompareExchange(ref list, updated, current) == current)
            {
                return;
            }
        }
    }

    internal static void Remove(ref Channel<TaskStateChange>[]? list, Channel<TaskStateChange> watcher)
    {
        while (true)
        {
            var current = Volatile.Read(ref list);
            var index = current is null ? -1 : Array.IndexOf(current, watcher);
            if (index < 0)
            {
                return;
            }

            Channel<TaskStateChange>[]? updated = current!.Length == 1 ? null : [.. current.AsSpan(0, index), .. current.AsSpan(index + 1)];
            if (Interlocked.CompareExchange(ref list, updated, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Ends every watcher in the list, for a dispatcher that has stopped.</summary>
    internal static void CompleteAll(Channel<TaskStateChange>[]? list)
    {
        if (list is null)
        {
            return;
        }

        foreach (var watcher in list)
        {
            watcher.Writer.TryComplete();
        }
    }
}
