using System.Numerics;
using System.Runtime.CompilerServices;

namespace TaskDispatch;

/// <summary>A growable array stored in chunks small enough to stay off the large object heap.</summary>
/// <remarks>A queue of many thousand tasks in one array lands on the large object heap (over 85,000 bytes), and every
/// such allocation counts toward a full, generation-2 collection. A dispatcher allocates its queue's array once, but a
/// simulation makes a new policy per run: drained backlogs of 10,000 tasks spent most of their time in those
/// collections. The first chunk grows by doubling, as a list's array does, so a small queue stays small; once it reaches
/// <see cref="ChunkLength"/>, more chunks of that length are added and nothing is ever copied again.
/// <para>A struct, so that its owner reaches the first chunk in one load, as it would a plain array. Keep it in a field
/// that is not <see langword="readonly"/>: growing changes the struct, and a copy shares the chunks only until then.</para></remarks>
/// <typeparam name="T">The element.</typeparam>
internal struct ChunkedArray<T>
{
    /// <summary>The largest chunk, in bytes: under the large object heap's threshold of 85,000.</summary>
    private const int MaxChunkBytes = 64 * 1024;

    /// <summary>Gets log2 of <see cref="ChunkLength"/>.</summary>
    internal static readonly int ChunkShift = BitOperations.Log2((uint)Math.Max(1, MaxChunkBytes / Unsafe.SizeOf<T>()));

    private static readonly int s_chunkMask = (1 << ChunkShift) - 1;

    private T[][] _chunks;

    public ChunkedArray()
    {
        FirstChunk = new T[Math.Min(16, ChunkLength)];
        _chunks = [FirstChunk];
        Capacity = FirstChunk.Length;
    }

    /// <summary>Gets the number of elements in a full chunk, a power of two.</summary>
    internal static int ChunkLength => 1 << ChunkShift;

    /// <summary>Gets the number of elements the chunks hold.</summary>
    internal int Capacity { get; private set; }

    /// <summary>Gets the only chunk while there is one (<see cref="Capacity"/> up to <see cref="ChunkLength"/>), for
    /// loops that run faster over a plain array; else <see langword="null"/>.</summary>
    internal readonly T[]? SingleChunk => Capacity <= ChunkLength ? FirstChunk : null;

    /// <summary>Gets the first chunk, which holds the elements from 0 up to its length.</summary>
    internal T[] FirstChunk { get; private set; }

    /// <summary>Gets the element at <paramref name="index"/>, which must be below <see cref="Capacity"/>.</summary>
    internal readonly ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _chunks[index >> ChunkShift][index & s_chunkMask];
    }

    /// <summary>Adds room: doubles the first chunk while it is short of <see cref="ChunkLength"/>, else adds a chunk.</summary>
    internal void Grow()
    {
        if (Capacity < ChunkLength)
        {
            Array.Resize(ref _chunks[0], Math.Min(Capacity * 2, ChunkLength));
            FirstChunk = _chunks[0];
            Capacity = FirstChunk.Length;
            return;
        }

        var chunk = Capacity >> ChunkShift;
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, chunk * 2);
        }

        _chunks[chunk] = new T[ChunkLength];
        Capacity += ChunkLength;
    }

    /// <summary>Resets <paramref name="count"/> elements from <paramref name="start"/> to their default, so that they
    /// hold on to nothing.</summary>
    internal readonly void Clear(int start, int count)
    {
        while (count > 0)
        {
            var offset = start & s_chunkMask;
            var length = Math.Min(count, _chunks[start >> ChunkShift].Length - offset);
            Array.Clear(_chunks[start >> ChunkShift], offset, length);
            start += length;
            count -= length;
        }
    }
}
