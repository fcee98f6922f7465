namespace TaskDispatch;

/// <summary>Creates an object's rarely used state on first need: whoever asks first creates it, and a race is settled
/// by a compare-and-swap, so every caller gets the same instance.</summary>
internal static class SideObject
{
    /// <summary>Gets the side object in <paramref name="field"/>, creating it if it is not there yet.</summary>
    internal static T Get<T>(ref T? field)
        where T : class, new()
    {
        var existing = Volatile.Read(ref field);
        if (existing is not null)
        {
            return existing;
        }

        var created = new T();
        return Interlocked.CompareExchange(ref field, created, null) ?? created;
    }
}
