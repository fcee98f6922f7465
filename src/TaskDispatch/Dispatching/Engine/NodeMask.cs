using System.Numerics;

namespace TaskDispatch;

/// <summary>A set of nodes by their place in a node array (bit i: node i), compared by value. The first 64 nodes fit in
/// one word, so that the usual dispatcher's sets cost no allocation; nodes beyond them take an array of further words,
/// kept only when one of those bits is set, so that equal sets have one representation.</summary>
internal readonly struct NodeMask : IEquatable<NodeMask>
{
    private readonly ulong _low;
    private readonly ulong[]? _high;

    private NodeMask(ulong low, ulong[]? high)
    {
        _low = low;
        _high = high;
    }

    /// <summary>Gets whether no node is in the set.</summary>
    internal bool IsEmpty => _low == 0 && _high is null;

    /// <summary>The set of the nodes of <paramref name="nodes"/> that <paramref name="contains"/> accepts.</summary>
    internal static NodeMask Of<TState>(NodeRuntime[] nodes, TState state, Func<NodeRuntime, TState, bool> contains)
    {
        var low = 0UL;
        ulong[]? high = null;
        for (var i = 0; i < nodes.Length; i++)
        {
            if (!contains(nodes[i], state))
            {
                continue;
            }

            if (i < 64)
            {
                low |= 1UL << i;
            }
            else
            {
                high ??= new ulong[(nodes.Length - 1) / 64];
                high[(i / 64) - 1] |= 1UL << (i % 64);
            }
        }

        return new NodeMask(low, high is null ? null : Trimmed(high));
    }

    /// <summary>Whether any node of the set satisfies <paramref name="predicate"/>, looked at in index order.</summary>
    internal bool Any(NodeRuntime[] nodes, Func<NodeRuntime, bool> predicate)
    {
        if (AnyIn(_low, 0, nodes, predicate))
        {
            return true;
        }

        if (_high is { } high)
        {
            for (var word = 0; word < high.Length; word++)
            {
                if (AnyIn(high[word], 64 * (word + 1), nodes, predicate))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <inheritdoc />
    public bool Equals(NodeMask other) =>
        _low == other._low && (ReferenceEquals(_high, other._high) || (_high is not null && other._high is not null && _high.AsSpan().SequenceEqual(other._high)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is NodeMask other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(_low);
        if (_high is { } high)
        {
            foreach (var word in high)
            {
                hash.Add(word);
            }
        }

        return hash.ToHashCode();
    }

    private static bool AnyIn(ulong word, int first, NodeRuntime[] nodes, Func<NodeRuntime, bool> predicate)
    {
        for (var remaining = word; remaining != 0; remaining &= remaining - 1)
        {
            if (predicate(nodes[first + BitOperations.TrailingZeroCount(remaining)]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The words up to the last one with a bit set: sets that differ only in trailing empty words are equal.</summary>
    private static ulong[] Trimmed(ulong[] high)
    {
        var length = high.Length;
        while (high[length - 1] == 0)
        {
            length--;
        }

        return length == high.Length ? high : high[..length];
    }
}
