using System.Collections.Concurrent;

namespace TaskDispatch;

/// <summary>The handles a member awaits, by task id. An id can have several: two submissions of one id by one member each
/// hold a handle, and each ends when the task does. Every change to an id's handles is one atomic swap of its array, so
/// adding and removing one handle never loses another.</summary>
internal sealed class AwaitedHandles
{
    private readonly ConcurrentDictionary<string, ClusterTaskHandle[]> _byId = new(StringComparer.Ordinal);

    /// <summary>Gets whether no handle is awaited.</summary>
    internal bool IsEmpty => _byId.IsEmpty;

    /// <summary>Gets the ids awaited.</summary>
    internal ICollection<string> Ids => _byId.Keys;

    /// <summary>Gets every handle awaited.</summary>
    internal IEnumerable<ClusterTaskHandle> Handles => _byId.Values.SelectMany(static handles => handles);

    /// <summary>Awaits <paramref name="handle"/> for <paramref name="id"/>, beside any handle already awaited for it.</summary>
    internal void Add(string id, ClusterTaskHandle handle) =>
        _byId.AddOrUpdate(id, static (_, handle) => [handle], static (_, handles, handle) => [.. handles, handle], handle);

    /// <summary>Stops awaiting <paramref name="handle"/> alone; returns whether it was awaited.</summary>
    internal bool Remove(string id, ClusterTaskHandle handle)
    {
        while (_byId.TryGetValue(id, out var handles))
        {
            var index = Array.IndexOf(handles, handle);
            if (index < 0)
            {
                return false;
            }

            var swapped = handles.Length == 1
                ? _byId.TryRemove(new KeyValuePair<string, ClusterTaskHandle[]>(id, handles))
                : _byId.TryUpdate(id, [.. handles[..index], .. handles[(index + 1)..]], handles);
            if (swapped)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Stops awaiting every handle of <paramref name="id"/>; returns them (empty when there were none).</summary>
    /// <remarks>Looked up first without a lock: on the completion path the id is usually absent from one of the tables,
    /// and a removal takes a lock whether or not the id is there.</remarks>
    internal ClusterTaskHandle[] RemoveAll(string id) =>
        _byId.ContainsKey(id) && _byId.TryRemove(id, out var handles) ? handles : [];

    /// <summary>Gets the handles awaited for <paramref name="id"/> at this moment (empty when there are none).</summary>
    internal ClusterTaskHandle[] Get(string id) => _byId.TryGetValue(id, out var handles) ? handles : [];
}
