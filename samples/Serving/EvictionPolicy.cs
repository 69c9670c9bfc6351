using System;
using System.Linq;
using KernelDsl;

namespace Serving;

/// <summary>
/// The compaction policy (H2O-style heavy hitters): each sequence keeps its shared-prefix tokens (pages other sequences read
/// cannot be rewritten), its newest token, and the highest-scoring of its other tokens up to <c>budget</c> tokens of its own.
/// A token's score is the attention mass it received, summed over the KV heads (one keep decision moves all heads).
/// </summary>
internal static class EvictionPolicy
{
    /// <summary>Keep flags packed like <see cref="KvCompaction.Compact{T}"/> takes them, from scores [Σ L, Hkv] packed the same way.</summary>
    public static bool[] Keep(PagedKvBatch batch, ReadOnlySpan<double> mass, int headsKv, ReadOnlySpan<int> protectedTokens, int budget)
    {
        var keep = new bool[batch.TotalKvTokens];
        long start = 0;
        for (int s = 0; s < batch.Sequences; s++)
        {
            int length = batch.KvLengths.Span[s], own = protectedTokens[s];
            var flags = keep.AsSpan((int)start, length);
            if (length - own <= budget)
            {
                flags.Fill(true);
            }
            else
            {
                flags[..own].Fill(true);
                flags[length - 1] = true;
                var scores = new double[length];
                for (int t = 0; t < length; t++)
                {
                    for (int g = 0; g < headsKv; g++)
                    {
                        scores[t] += mass[(int)(((start + t) * headsKv) + g)];
                    }
                }

                // The best budget − 1 of the tokens between the prefix and the newest one; ties go to the later token.
                foreach (int t in Enumerable.Range(own, length - own - 1).OrderByDescending(t => scores[t]).ThenByDescending(t => t).Take(budget - 1))
                {
                    flags[t] = true;
                }
            }

            start += length;
        }

        return keep;
    }
}
