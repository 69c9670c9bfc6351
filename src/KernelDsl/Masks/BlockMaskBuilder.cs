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
/// Builds a <see cref="BlockMask"/> in two steps: a dense classification (one <see cref="BlockKind"/> byte per
/// (query-block row, KV block), row-major [Batches, Heads, QueryBlocks, KvBlocks]), then <see cref="Compact"/>, which
/// lists each row's partial and full blocks. The classification comes from a per-block classifier on the CPU
/// (<see cref="Build"/>: the generated <c>CreateBlockMask</c> passes one that evaluates the band and the mask
/// modifier inline over the block's elements, in parallel over query-block rows) or from the generated GPU builder
/// kernel (<c>CreateBlockMaskOnDevice</c>, which downloads its bytes and compacts them here): one compaction for both.
/// </summary>
public static class BlockMaskBuilder
{
    /// <summary>Classifies block pair (b, h, [q0, q1), [k0, k1)); the bounds are clipped to the sequences.</summary>
    public delegate BlockKind Classifier(int b, int h, int q0, int q1, int k0, int k1);

    /// <summary>
    /// Classifies every block pair of <paramref name="shape"/> with <paramref name="classify"/> and lists them: one row set per
    /// batch when <paramref name="perBatch"/> (the mask modifier reads b), else one shared by every batch; heads likewise.
    /// </summary>
    public static BlockMask Build(AttentionShape shape, int blockQ, int blockKV, bool perBatch, bool perHead, Classifier classify)
    {
        shape.ValidateNonEmpty();
        return Classify(shape, blockQ, blockKV, perBatch ? shape.Batch : 1, perHead ? shape.HeadsQ : 1, perBatch, perHead, classify);
    }

    private static BlockMask Classify(AttentionShape shape, int blockQ, int blockKV, int batches, int heads, bool perBatch, bool perHead, Classifier classify)
    {
        ArgumentNullException.ThrowIfNull(classify);
        RequirePositiveTiles(blockQ, blockKV);
        int queryBlocks = (int)(((long)shape.SeqQ + blockQ - 1) / blockQ);
        int kvBlocks = (int)(((long)shape.SeqKv + blockKV - 1) / blockKV);
        int rows = Rows(batches, heads, queryBlocks);
        var kinds = new byte[checked((long)rows * kvBlocks)];
        try
        {
            ClassifyRows(shape, blockQ, blockKV, heads, queryBlocks, kvBlocks, rows, kinds, classify);
        }
        catch (AggregateException error) when (error.InnerExceptions.Count > 0 && error.InnerExceptions[0] is ArgumentException argument)
        {
            // A classifier's argument error (a mask modifier indexing outside a captured buffer) surfaces as itself.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(argument).Throw();
        }

        return Compact(shape.SeqQ, shape.SeqKv, blockQ, blockKV, batches, heads, kinds, perBatch, perHead);
    }

    private static void ClassifyRows(AttentionShape shape, int blockQ, int blockKV, int heads, int queryBlocks, int kvBlocks, int rows, byte[] kinds, Classifier classify) =>
        Parallel.For(0, rows, row =>
        {
            int qb = row % queryBlocks;
            int h = row / queryBlocks % heads;
            int b = row / queryBlocks / heads;
            int q0 = qb * blockQ;
            int q1 = Math.Min(q0 + blockQ, shape.SeqQ);
            long at = (long)row * kvBlocks;
            for (int kb = 0; kb < kvBlocks; kb++)
            {
                int k0 = kb * blockKV;
                int k1 = Math.Min(k0 + blockKV, shape.SeqKv);
                kinds[at + kb] = (byte)classify(b, h, q0, q1, k0, k1);
            }
        });

    /// <summary>
    /// Lists the blocks of a dense classification: <paramref name="kinds"/> holds one <see cref="BlockKind"/> byte per
    /// (query-block row, KV block), row-major [<paramref name="batches"/>, <paramref name="heads"/>, QueryBlocks,
    /// KvBlocks], each pair classified over its elements inside the sequences. Per row, the partial KV blocks ascending,
    /// then the full ones ascending (see <see cref="BlockMask"/>). A full block that reaches past the last key is listed
    /// as partial (the kernels still need the element mask for the keys beyond Skv). The optional <c>perBatch</c> /
    /// <c>perHead</c> say whether the rows depend on the batch index / head (then <paramref name="batches"/> /
    /// <paramref name="heads"/> is the call's B / Hq); by default, when there is more than one.
    /// </summary>
    public static BlockMask Compact(int seqQ, int seqKv, int blockQ, int blockKV, int batches, int heads, byte[] kinds, bool? perBatch = null, bool? perHead = null)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        RequirePositiveTiles(blockQ, blockKV);
        if (seqQ <= 0 || seqKv <= 0 || batches <= 0 || heads <= 0)
        {
            throw new ArgumentException(
                $"Block mask dimensions must be positive (Sq {seqQ}, Skv {seqKv}, {batches} batch(es), {heads} head(s)).", BlockMask.FirstNonPositive(seqQ, seqKv, 1, 1, batches, heads));
        }

        int queryBlocks = (int)(((long)seqQ + blockQ - 1) / blockQ);
        int kvBlocks = (int)(((long)seqKv + blockKV - 1) / blockKV);
        int rows = Rows(batches, heads, queryBlocks);
        if (kinds.LongLength != (long)rows * kvBlocks)
        {
            throw new ArgumentException(
                $"The classification has {kinds.LongLength} entries, but [{batches}, {heads}, {queryBlocks}] query-block rows of {kvBlocks} KV blocks need {(long)rows * kvBlocks}.",
                nameof(kinds));
        }

        for (long i = 0; i < kinds.LongLength; i++)
        {
            if (kinds[i] > (byte)BlockKind.Full)
            {
                throw new ArgumentException(
                    $"The classification of query-block row {i / kvBlocks}, KV block {i % kvBlocks} is {kinds[i]}; expected 0 (empty), 1 (partial) or 2 (full).", nameof(kinds));
            }
        }

        bool tail = seqKv % blockKV != 0;
        var counts = new int[(long)rows * 2];
        var indices = new int[(long)rows * kvBlocks];
        Parallel.For(0, rows, row =>
        {
            long first = (long)row * kvBlocks;
            long at = first;
            int partial = 0;
            for (int kb = 0; kb < kvBlocks; kb++)
            {
                var kind = (BlockKind)kinds[first + kb];
                if (kind == BlockKind.Partial || (kind == BlockKind.Full && tail && kb == kvBlocks - 1))
                {
                    indices[at++] = kb;
                    partial++;
                }
            }

            int full = 0;
            for (int kb = 0; kb < kvBlocks; kb++)
            {
                if ((BlockKind)kinds[first + kb] == BlockKind.Full && !(tail && kb == kvBlocks - 1))
                {
                    indices[at++] = kb;
                    full++;
                }
            }

            for (long end = first + kvBlocks; at < end; at++)
            {
                indices[at] = -1;
            }

            counts[2 * row] = partial;
            counts[(2 * row) + 1] = full;
        });

        return BlockMask.Owning(seqQ, seqKv, blockQ, blockKV, batches, heads, counts, indices, perBatch ?? batches > 1, perHead ?? heads > 1);
    }

    /// <summary>Batches · Heads · QueryBlocks, which the kernels index with an int: checked, with the reason when it does not fit.</summary>
    private static int Rows(int batches, int heads, int queryBlocks)
    {
        long rows = (long)batches * heads * queryBlocks;
        if (rows > int.MaxValue)
        {
            throw new ArgumentException(
                $"A block mask of {batches} batch(es) x {heads} head(s) x {queryBlocks} query blocks has {rows} rows, more than the {int.MaxValue} an int row index reaches; use larger tiles or fewer batches per call.");
        }

        return (int)rows;
    }

    private static void RequirePositiveTiles(int blockQ, int blockKV)
    {
        if (blockQ <= 0 || blockKV <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockQ), $"Tile sizes must be positive ({blockQ}x{blockKV}).");
        }
    }
}
