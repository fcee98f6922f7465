using System.Diagnostics.CodeAnalysis;
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
    /// <summary>Reads a payload: the node it names, found by <paramref name="findNode"/> (<see langword="null"/>: not
    /// one of the caller's, and the payload reads as <see langword="false"/>), and where the new tasks start in its queue
    /// (<see cref="QueuePosition.Head"/> for a payload that names the node alone).</summary>
    internal static bool TryRead<TNode>(string payload, Func<string, TNode?> findNode, [NotNullWhen(true)] out TNode? node, out QueuePosition position)
        where TNode : class
    {
        // A node's name may hold anything but white space alone, even line breaks: the name as a whole is tried first.
        position = QueuePosition.Head;
        node = findNode(payload);
        if (node is not null)
        {
            return true;
        }

        var last = payload.LastIndexOf('\n');
        var middle = last > 0 ? payload.LastIndexOf('\n', last - 1) : -1;
        if (middle > 0
            && last - middle - 1 == 16
            && long.TryParse(payload.AsSpan(middle + 1, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sortKeyBits)
            && long.TryParse(payload.AsSpan(last + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var sequence))
        {
            node = findNode(payload[..middle]);
            position = new QueuePosition(BitConverter.Int64BitsToDouble(sortKeyBits), sequence);
        }

        return node is not null;
    }
}
