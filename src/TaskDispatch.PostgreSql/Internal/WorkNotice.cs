using System.Globalization;

namespace TaskDispatch;

/// <summary>A notification on the work channel: a node has tasks to lease. Submissions write
/// <c>node\nsort_key\nseq</c>, the queue position of the first task they gave the node (<see cref="ClusterSql.Insert"/>),
/// the sort key as the 16 hex digits of its IEEE 754 bits (<c>float8send</c>), which read back exactly whatever the
/// session's <c>extra_float_digits</c>;
/// releases and the reaper write the node's name alone, since the tasks they hand back usually sit before any position a
/// node's leases reached.</summary>
internal static class WorkNotice
{
    /// <summary>Reads a payload: the node it names, and where the new tasks start in its queue (<see langword="null"/>:
    /// anywhere). <paramref name="isNode"/> tells whether a name is one of the caller's nodes; a payload that names
    /// none of them reads as <see langword="false"/>.</summary>
    internal static bool TryRead(string payload, Func<string, bool> isNode, out string node, out QueuePosition? position)
    {
        // A node's name may hold anything but white space alone, even line breaks: the name as a whole is tried first.
        if (isNode(payload))
        {
            node = payload;
            position = null;
            return true;
        }

        var last = payload.LastIndexOf('\n');
        var middle = last > 0 ? payload.LastIndexOf('\n', last - 1) : -1;
        if (middle > 0
            && last - middle - 1 == 16
            && long.TryParse(payload.AsSpan(middle + 1, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sortKeyBits)
            && long.TryParse(payload.AsSpan(last + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var sequence)
            && isNode(payload[..middle]))
        {
            node = payload[..middle];
            position = new QueuePosition(BitConverter.Int64BitsToDouble(sortKeyBits), sequence);
            return true;
        }

        node = string.Empty;
        position = null;
        return false;
    }
}
