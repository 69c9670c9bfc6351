using System;

namespace KernelDsl.Cpu;

/// <summary>
/// The K/V-block-parallel pass of the CPU backward walks a <see cref="BlockMask"/> by columns (for one KV block, the
/// query blocks that visit it), the forward by rows. This transposes it once per call into one byte per
/// (query-block row, KV block): 0 skipped, 1 partial (element masks), 2 full — so the backward visits exactly the
/// forward's blocks, and skips element masks on exactly its full ones.
/// </summary>
public static class BackwardBlocks
{
    public const byte Skipped = 0;
    public const byte Partial = 1;
    public const byte Full = 2;

    /// <summary>States [Batches, Heads, QueryBlocks, KvBlocks] of <paramref name="mask"/>.</summary>
    public static byte[] States(BlockMask mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        long rows = (long)mask.Batches * mask.Heads * mask.QueryBlocks;
        var states = new byte[rows * mask.KvBlocks];
        var counts = mask.Counts.Span;
        var indices = mask.Indices.Span;
        for (int row = 0; row < rows; row++)
        {
            int partial = counts[2 * row], full = counts[(2 * row) + 1];
            for (int position = 0; position < partial + full; position++)
            {
                int block = indices[(row * mask.KvBlocks) + position];
                states[((long)row * mask.KvBlocks) + block] = position < partial ? Partial : Full;
            }
        }

        return states;
    }
}
