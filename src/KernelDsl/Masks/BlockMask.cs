using System;

namespace KernelDsl;

/// <summary>
/// Which (query block, KV block) tile pairs a kernel visits, for one call shape and one kernel's tile sizes, computed
/// from the spec's band and mask modifier (the generated <c>CreateBlockMask</c>). A pair is EMPTY when it keeps no
/// (q, kv) pair (skipped), FULL when it keeps every pair and lies wholly inside the keys (no element mask), PARTIAL
/// otherwise (element mask). Layout, shared with the GPU kernel:
/// <list type="bullet">
/// <item><see cref="Counts"/>: int32 [Batches, Heads, QueryBlocks, 2] = (partial, full) per query block;</item>
/// <item><see cref="Indices"/>: int32 [Batches, Heads, QueryBlocks, KvBlocks]: the partial KV-block indices ascending, then
/// the full ones ascending, −1 after them.</item>
/// </list>
/// Batches is 1 when the mask modifier does not read b (the mask is shared by every batch), else B; Heads likewise.
/// Build it once per shape and buffer contents and reuse it across calls: it is the caller's cache.
/// </summary>
public sealed class BlockMask
{
    public BlockMask(int seqQ, int seqKv, int blockQ, int blockKV, int batches, int heads, int[] counts, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(indices);
        if (seqQ <= 0 || seqKv <= 0 || blockQ <= 0 || blockKV <= 0 || batches <= 0 || heads <= 0)
        {
            throw new ArgumentException($"Block mask dimensions must be positive (Sq {seqQ}, Skv {seqKv}, tiles {blockQ}x{blockKV}, {batches} batch(es), {heads} head(s)).");
        }

        SeqQ = seqQ;
        SeqKv = seqKv;
        BlockQ = blockQ;
        BlockKV = blockKV;
        Batches = batches;
        Heads = heads;
        QueryBlocks = (seqQ + blockQ - 1) / blockQ;
        KvBlocks = (seqKv + blockKV - 1) / blockKV;
        long rows = (long)batches * heads * QueryBlocks;
        if (counts.LongLength != rows * 2 || indices.LongLength != rows * KvBlocks)
        {
            throw new ArgumentException($"Block mask arrays do not match [{batches}, {heads}, {QueryBlocks}] query-block rows of {KvBlocks} KV blocks: counts {counts.Length}, indices {indices.Length}.");
        }

        for (long row = 0; row < rows; row++)
        {
            int visited = counts[2 * row] + counts[(2 * row) + 1];
            if (counts[2 * row] < 0 || counts[(2 * row) + 1] < 0 || visited > KvBlocks)
            {
                throw new ArgumentException($"Block mask row {row} lists {counts[2 * row]} partial and {counts[(2 * row) + 1]} full blocks out of {KvBlocks}.");
            }

            for (int j = 0; j < visited; j++)
            {
                int block = indices[(row * KvBlocks) + j];
                if (block < 0 || block >= KvBlocks)
                {
                    throw new ArgumentException($"Block mask row {row} lists KV block {block}, outside [0, {KvBlocks}).");
                }
            }
        }

        Counts = counts;
        Indices = indices;
    }

    public int SeqQ { get; }

    public int SeqKv { get; }

    public int BlockQ { get; }

    public int BlockKV { get; }

    /// <summary>1 when the mask does not depend on the batch index, else the batch size it was built for.</summary>
    public int Batches { get; }

    /// <summary>1 when the mask does not depend on the head, else the number of query heads it was built for.</summary>
    public int Heads { get; }

    public int QueryBlocks { get; }

    public int KvBlocks { get; }

    /// <summary>(partial, full) per query-block row, see the class remarks.</summary>
    public int[] Counts { get; }

    /// <summary>Listed KV blocks per query-block row, see the class remarks.</summary>
    public int[] Indices { get; }

    /// <summary>Block pairs the kernels visit with an element mask, over all rows of the mask.</summary>
    public long PartialBlocks => Sum(0);

    /// <summary>Block pairs visited without an element mask.</summary>
    public long FullBlocks => Sum(1);

    /// <summary>All block pairs of the mask's rows (visited or not).</summary>
    public long TotalBlocks => (long)Batches * Heads * QueryBlocks * KvBlocks;

    /// <summary>Visited pairs / all pairs: the fraction of the dense tile work the kernel does.</summary>
    public double Density => TotalBlocks == 0 ? 0 : (double)(PartialBlocks + FullBlocks) / TotalBlocks;

    /// <summary>
    /// Throws an ArgumentException (naming <paramref name="parameterName"/>) when this mask was built for another
    /// shape or another kernel's tiles than the call's.
    /// </summary>
    public void RequireMatches(AttentionShape shape, int blockQ, int blockKV, string parameterName)
    {
        string? problem =
            shape.SeqQ != SeqQ || shape.SeqKv != SeqKv ? $"it was built for Sq = {SeqQ}, Skv = {SeqKv}, the call has Sq = {shape.SeqQ}, Skv = {shape.SeqKv}"
            : blockQ != BlockQ || blockKV != BlockKV ? $"it was built for {BlockQ}x{BlockKV} tiles, this kernel uses {blockQ}x{blockKV} (build it with this kernel's CreateBlockMask)"
            : Batches != 1 && Batches != shape.Batch ? $"it was built for {Batches} batches, the call has {shape.Batch}"
            : Heads != 1 && Heads != shape.HeadsQ ? $"it was built for {Heads} query heads, the call has {shape.HeadsQ}"
            : null;
        if (problem is not null)
        {
            throw new ArgumentException($"The block mask does not fit this call: {problem}.", parameterName);
        }
    }

    /// <summary>Copies the mask to the GPU for the device <c>Forward</c> (dispose the result with the tensors).</summary>
    public DeviceBlockMask ToDevice(Cuda.CudaContext? context = null) => new(this, context);

    private long Sum(int which)
    {
        long total = 0;
        for (int i = which; i < Counts.Length; i += 2)
        {
            total += Counts[i];
        }

        return total;
    }
}

/// <summary>A <see cref="BlockMask"/> in device memory, in the layout the GPU kernel reads.</summary>
public sealed class DeviceBlockMask : IDisposable
{
    internal DeviceBlockMask(BlockMask mask, Cuda.CudaContext? context)
    {
        Mask = mask;
        Counts = DeviceBuffer<int>.From(mask.Counts, context);
        Indices = DeviceBuffer<int>.From(mask.Indices, context);
    }

    /// <summary>The host mask it was copied from (shape, tiles and statistics).</summary>
    public BlockMask Mask { get; }

    public DeviceBuffer<int> Counts { get; }

    public DeviceBuffer<int> Indices { get; }

    public void Dispose()
    {
        Counts.Dispose();
        Indices.Dispose();
    }
}
