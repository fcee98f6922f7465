using System.Runtime.InteropServices;

namespace TaskDispatch;

/// <summary>A counter that many threads increment without contending: each processor adds to its own cache line,
/// and a read sums them. Reads are not atomic snapshots, which is fine for statistics.</summary>
internal sealed class StripedCounter
{
    private readonly PaddedLong[] _cells = new PaddedLong[Math.Min(64, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount))];

    /// <summary>Gets the sum of all cells.</summary>
    internal long Value
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < _cells.Length; i++)
            {
                sum += Volatile.Read(ref _cells[i].Value);
            }

            return sum;
        }
    }

    /// <summary>Adds one.</summary>
    internal void Increment() => Interlocked.Increment(ref _cells[Thread.GetCurrentProcessorId() & (_cells.Length - 1)].Value);

    /// <summary>Adds <paramref name="amount"/>.</summary>
    internal void Add(long amount) => Interlocked.Add(ref _cells[Thread.GetCurrentProcessorId() & (_cells.Length - 1)].Value, amount);

    /// <summary>A long alone on its cache line (128 bytes covers adjacent-line prefetching).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)]
        public long Value;
    }
}
