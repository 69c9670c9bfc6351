using System;

namespace KernelDsl.Cpu;

/// <summary>
/// The eviction scores of the CPU decode (<c>[PagedKv(EvictionScores = true)]</c>, issue 12 item 4): per cached key, the
/// attention mass it received, p = exp(s − LSE) summed over the step's query rows of its KV group (the sequence's queries ×
/// the group's query heads). Layout [Σ L, Hkv], packed like the cache's tokens and like <see cref="KvCompaction"/>'s keep
/// flags: key t of sequence s, KV head g is element (Σ_{r&lt;s} L_r + t)·Hkv + g. The kernel writes them in a second sweep
/// over the sequence's K blocks once its rows' softmax max m and sum l are final (K only, no V), so one work item writes
/// every score of its (sequence, KV head) in a fixed order (the entry point zeroes the buffer first: keys no row keeps, and sequences without queries, get 0): deterministic, no atomics. That needs the whole group in one
/// work item — group × queries per sequence ≤ the kernel's BlockQ — which <see cref="Require"/> checks at the call.
/// </summary>
public static unsafe class ServingKeyMass
{
    /// <summary>Checks the scores buffer's length (Σ L · Hkv) and that every sequence's rows fit one work item.</summary>
    public static void Require(int length, PagedKvBatch batch, int headsQ, int headsKv, int blockQ, string name)
    {
        ArgumentNullException.ThrowIfNull(batch);
        long expected = batch.TotalKvTokens * headsKv;
        if (length != expected)
        {
            throw new ArgumentException($"'{name}' has {length} elements, but the batch's {batch.TotalKvTokens} cached tokens × {headsKv} KV heads need {expected}.", name);
        }

        long rows = (long)(headsQ / headsKv) * batch.MaxQueriesPerSequence;
        if (rows > blockQ)
        {
            throw new ArgumentException(
                $"'headsQ': eviction scores need a sequence's query rows of one KV group in one work item, but {headsQ / headsKv} heads per group × {batch.MaxQueriesPerSequence} queries = {rows} rows > {blockQ}; split the call (fewer queries per sequence).",
                nameof(headsQ));
        }
    }

    /// <summary>Σ_{r&lt;s} L_r: where sequence s's keys start in the packed scores.</summary>
    public static long KeyStart<TIn, TKv>(in TKv kv, int sequence)
        where TIn : unmanaged
        where TKv : struct, IKvRows<TIn>
    {
        long start = 0;
        for (int r = 0; r < sequence; r++)
        {
            start += kv.Length(r);
        }

        return start;
    }

    /// <summary>
    /// Adds one K block's mass: for key j, Σ over the block's rows c of exp2(Sᵀ[j, c] − m[c]) / l[c] (scores in base 2, as
    /// the online softmax keeps them; masked scores are −∞ and add 0; rows that kept no key, l = 0, add nothing), summed in
    /// double in row order, to <paramref name="destination"/>[j · stride].
    /// </summary>
    public static void Add(float* scoresT, int blockQ, int kvCount, int rowCount, float* m, float* l, float* destination, int stride)
    {
        for (int j = 0; j < kvCount; j++)
        {
            double sum = 0;
            float* row = scoresT + ((long)j * blockQ);
            for (int c = 0; c < rowCount; c++)
            {
                if (l[c] > 0)
                {
                    sum += double.Exp2(row[c] - (double)m[c]) / l[c];
                }
            }

            destination[(long)j * stride] += (float)sum;
        }
    }
}
