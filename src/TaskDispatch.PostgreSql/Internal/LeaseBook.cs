using System.Collections.Concurrent;

namespace TaskDispatch;

/// <summary>The leases this member holds, by task id: the token every write for the task is fenced with, and the node
/// that holds it.</summary>
internal sealed class LeaseBook
{
    private readonly ConcurrentDictionary<string, Lease> _leases = new(StringComparer.Ordinal);

    /// <summary>One held lease. <see cref="Lost"/> is set once a renewal found the task had moved on.</summary>
    internal sealed class Lease(string taskId, long token, string node)
    {
        internal string TaskId { get; } = taskId;

        internal long Token { get; } = token;

        internal string Node { get; } = node;

        internal bool Lost { get; set; }

        /// <summary>Set once the statement that leased the task has committed. Until then a renewal, running on another
        /// session, cannot see the lease, and must not take its absence for a loss: the attempt would be cancelled and
        /// its end, written under a valid token, would end the task cancelled.</summary>
        internal bool Committed
        {
            get => Volatile.Read(ref _committed);
            set => Volatile.Write(ref _committed, value);
        }

        private bool _committed;

        /// <summary>Set once the task ended here and its end was queued for writing. The lease is still renewed until that
        /// write has run, but a renewal that misses it proves no loss (the end may have committed first), and a stopping
        /// member does not hand the task back as untouched.</summary>
        internal bool Ended
        {
            get => Volatile.Read(ref _ended);
            set => Volatile.Write(ref _ended, value);
        }

        private bool _ended;

        internal bool CancelRequested { get; set; }

        /// <summary>Set when this member, cut off from the database for a whole lease, stopped working on the task; it
        /// writes nothing for it, and the lease runs out on the server.</summary>
        internal bool Abandoned { get; set; }
    }

    internal int Count => _leases.Count;

    internal void Add(Lease lease) => _leases[lease.TaskId] = lease;

    internal bool TryGet(string taskId, out Lease lease) => _leases.TryGetValue(taskId, out lease!);

    /// <summary>Forgets a lease, if it is still this one (a later lease of the same task by this member is kept).</summary>
    internal void Remove(Lease lease) => _leases.TryRemove(new KeyValuePair<string, Lease>(lease.TaskId, lease));

    internal Lease[] Snapshot() => [.. _leases.Values];
}
