using System;
using System.Threading.Tasks;

namespace KernelDsl;

/// <summary>How a (query block, KV block) pair's elements are kept.</summary>
public enum BlockKind
{
    /// <summary>No pair is kept: the kernels skip the block.</summary>
    Empty = 0,

    /// <summary>Some pairs are kept: the kernels apply the element mask.</summary>
    Partial = 1,

    /// <summary>Every pair is kept: no element mask.</summary>
    Full = 2,
}

/// <summary>
/// Builds a <see cref="BlockMask"/> from a per-block classifier (the generated <c>CreateBlockMask</c> passes one that
/// evaluates the band and the mask modifier inline over the block's elements), in parallel over query-block rows.
/// </summary>
public static class BlockMaskBuilder
{
    /// <summary>Classifies block pair (b, h, [q0, q1), [k0, k1)); the bounds are clipped to the sequences.</summary>
    public delegate BlockKind Classifier(int b, int h, int q0, int q1, int k0, int k1);

    public static BlockMask Build(AttentionShape shape, int blockQ, int blockKV, int batches, int heads, Classifier classify)
    {
        ArgumentNullException.ThrowIfNull(classify);
        if (blockQ <= 0 || blockKV <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockQ), $"Tile sizes must be positive ({blockQ}x{blockKV}).");
        }

        int queryBlocks = (shape.SeqQ + blockQ - 1) / blockQ;
        int kvBlocks = (shape.SeqKv + blockKV - 1) / blockKV;
        int rows = batches * heads * queryBlocks;
        var counts = new int[rows * 2];
        var indices = new int[(long)rows * kvBlocks];
        Parallel.For(0, rows, row =>
        {
            int qb = row % queryBlocks;
            int h = row / queryBlocks % heads;
            int b = row / queryBlocks / heads;
            int q0 = qb * blockQ;
            int q1 = Math.Min(q0 + blockQ, shape.SeqQ);
            Span<BlockKind> kinds = kvBlocks <= 4096 ? stackalloc BlockKind[kvBlocks] : new BlockKind[kvBlocks];
            for (int kb = 0; kb < kvBlocks; kb++)
            {
                int k0 = kb * blockKV;
                int k1 = Math.Min(k0 + blockKV, shape.SeqKv);
                var kind = classify(b, h, q0, q1, k0, k1);

                // A block that reaches past the last key still needs the element mask (for the keys beyond Skv).
                kinds[kb] = kind == BlockKind.Full && k1 - k0 < blockKV ? BlockKind.Partial : kind;
            }

            long at = (long)row * kvBlocks;
            int partial = 0, full = 0;
            foreach (var wanted in new[] { BlockKind.Partial, BlockKind.Full })
            {
                for (int kb = 0; kb < kvBlocks; kb++)
                {
                    if (kinds[kb] == wanted)
                    {
                        indices[at++] = kb;
                        if (wanted == BlockKind.Partial)
                        {
                            partial++;
                        }
                        else
                        {
                            full++;
                        }
                    }
                }
            }

            for (long end = ((long)row + 1) * kvBlocks; at < end; at++)
            {
                indices[at] = -1;
            }

            counts[2 * row] = partial;
            counts[(2 * row) + 1] = full;
        });

        return new BlockMask(shape.SeqQ, shape.SeqKv, blockQ, blockKV, batches, heads, counts, indices);
    }
}
