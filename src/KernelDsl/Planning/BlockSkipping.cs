using System;

namespace KernelDsl;

/// <summary>
/// Counts what a kernel with (blockQ × blockKV) tiles visits under a mask band: the KV blocks of each query block
/// that KeyRange leaves (exactly the loop bounds the CPU and GPU kernels use), over one (batch, head).
/// </summary>
internal static class BlockSkipping
{
    public readonly record struct Visits(long VisitedPairs, long VisitedKvRows, long VisitedBlocks, long TotalBlocks);

    public static Visits Count(MaskBand band, AttentionShape shape, int blockQ, int blockKV)
    {
        long visitedPairs = 0, visitedKvRows = 0, visitedBlocks = 0, totalBlocks = 0;
        int kvBlocks = (shape.SeqKv + blockKV - 1) / blockKV;
        for (int q0 = 0; q0 < shape.SeqQ; q0 += blockQ)
        {
            int q1 = Math.Min(shape.SeqQ, q0 + blockQ);
            totalBlocks += kvBlocks;
            var (first, end) = band.KeyRange(q0, q1, shape.SeqKv);
            if (end <= first)
            {
                continue;
            }

            int firstBlock = first / blockKV;
            int endBlock = (end + blockKV - 1) / blockKV;
            visitedBlocks += endBlock - firstBlock;
            int kStart = firstBlock * blockKV;
            int kEnd = Math.Min(shape.SeqKv, endBlock * blockKV);
            visitedPairs += (long)(q1 - q0) * (kEnd - kStart);
            visitedKvRows += kEnd - kStart;
        }

        return new Visits(visitedPairs, visitedKvRows, visitedBlocks, totalBlocks);
    }
}
