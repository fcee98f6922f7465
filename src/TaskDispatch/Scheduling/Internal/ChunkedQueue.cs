using System.Diagnostics.CodeAnalysis;

namespace TaskDispatch;

/// <summary>A first-in, first-out queue in a chain of chunks that stay off the large object heap (see
/// <see cref="ChunkedArray{T}"/> for why). Chunks double from a small first one up to
/// <see cref="ChunkedArray{T}.ChunkLength"/>; a drained chunk is kept as the spare for the next one needed.</summary>
/// <typeparam name="T">The element.</typeparam>
internal sealed class ChunkedQueue<T>
{
    private const int FirstChunkLength = 16;

    private Chunk _head = new(FirstChunkLength);
    private Chunk _tail;
    private Chunk? _spare;
    private int _headIndex;
    private int _tailIndex;

    internal ChunkedQueue() => _tail = _head;

    /// <summary>Gets the number of elements in the queue.</summary>
    internal int Count { get; private set; }

    internal void Enqueue(T item)
    {
        if (_tailIndex == _tail.Items.Length)
        {
            var length = Math.Min(_tail.Items.Length * 2, ChunkedArray<T>.ChunkLength);
            var next = _spare is { } spare && spare.Items.Length >= length ? spare : new Chunk(length);
            _spare = null;
            _tail.Next = next;
            _tail = next;
            _tailIndex = 0;
        }

        _tail.Items[_tailIndex++] = item;
        Count++;
    }

    internal bool TryDequeue([MaybeNullWhen(false)] out T item)
    {
        if (Count == 0)
        {
            item = default;
            return false;
        }

        if (_headIndex == _head.Items.Length)
        {
            // The head chunk is drained and the queue is not empty, so the next chunk holds the next element.
            var drained = _head;
            _head = drained.Next!;
            drained.Next = null;
            _spare = drained;
            _headIndex = 0;
        }

        item = _head.Items[_headIndex];
        _head.Items[_headIndex++] = default!;
        if (--Count == 0 && _head == _tail)
        {
            // Empty: start over at the front of the same chunk rather than move on to a new one.
            (_headIndex, _tailIndex) = (0, 0);
        }

        return true;
    }

    private sealed class Chunk(int length)
    {
        public T[] Items { get; } = new T[length];

        public Chunk? Next { get; set; }
    }
}
