namespace KernelDsl.Cpu;

/// <summary>
/// One call of a serving kernel (varlen prefill or paged decode), pinned and checked by the generated entry point: packed
/// Q [totalQ, Hq, D], its cumulative offsets, the K/V source, and the packed outputs O [totalQ, Hq, Dv] and LSE [totalQ, Hq]
/// (null when the spec does not write it). The kernel trusts it.
/// </summary>
public readonly unsafe struct ServingProblem<TIn, TOut, TKv>
    where TIn : unmanaged
    where TOut : unmanaged
    where TKv : struct, IKvRows<TIn>
{
    public ServingProblem(int sequences, int headsQ, int headsKv, TIn* q, int* queryOffsets, TKv kv, TOut* output, float* lse)
    {
        Sequences = sequences;
        HeadsQ = headsQ;
        HeadsKv = headsKv;
        Q = q;
        QueryOffsets = queryOffsets;
        Kv = kv;
        Output = output;
        Lse = lse;
    }

    public int Sequences { get; }

    public int HeadsQ { get; }

    public int HeadsKv { get; }

    /// <summary>Query heads per KV head.</summary>
    public int GroupSize => HeadsQ / HeadsKv;

    public TIn* Q { get; }

    /// <summary><c>cu_seqlens_q</c> [Sequences + 1].</summary>
    public int* QueryOffsets { get; }

    public TKv Kv { get; }

    public TOut* Output { get; }

    public float* Lse { get; }

    /// <summary>
    /// Eviction scores [Σ L, Hkv] (<c>[PagedKv(EvictionScores = true)]</c>; null otherwise): the attention mass each cached key
    /// received, packed like the cache's tokens (<see cref="ServingKeyMass"/>).
    /// </summary>
    public float* KeyMass { get; init; }
}

/// <summary>
/// The work items of a serving call. The query rows of one (sequence, KV head) are packed group-major — row r is query head
/// kvHead·group + r / q, query r % q of that sequence — so the heads of a KV group share every K/V tile (GQA packing), and
/// cut into blocks of BlockQ rows; an item is one (sequence, KV head, row block).
/// </summary>
public static unsafe class ServingWork
{
    /// <summary>
    /// This thread's work-item offsets buffer: pooled so a serving call allocates nothing in steady state (grown when a call
    /// has more sequences, then reused). A call fills it on its calling thread and the workers only read it until the call
    /// returns; a thread runs one call at a time, so the next call on the thread may overwrite it.
    /// </summary>
    [System.ThreadStatic]
    private static int[]? t_itemOffsets;

    /// <summary>
    /// Cumulative items per sequence: items[s] is the first item of sequence s; items[B] is the total. The array is this
    /// thread's pooled buffer (it may be longer than B + 1), valid until the next call of this method on the thread.
    /// </summary>
    public static int[] ItemOffsets(int* queryOffsets, int sequences, int group, int headsKv, int blockQ)
    {
        var items = t_itemOffsets;
        if (items is null || items.Length < sequences + 1)
        {
            items = new int[System.Math.Max(sequences + 1, (items?.Length ?? 0) * 2)];
            t_itemOffsets = items;
        }

        items[0] = 0;
        long total = 0;
        for (int s = 0; s < sequences; s++)
        {
            long rows = (long)(queryOffsets[s + 1] - queryOffsets[s]) * group;
            total += (rows + blockQ - 1) / blockQ * headsKv;
            if (total > int.MaxValue)
            {
                throw new System.ArgumentException($"The call has more than {int.MaxValue} work items; split it into several calls.", "batch");
            }

            items[s + 1] = (int)total;
        }

        return items;
    }

    /// <summary>The sequence of <paramref name="item"/> (binary search of the first <paramref name="sequences"/> + 1 entries of <see cref="ItemOffsets"/>).</summary>
    public static int SequenceOf(int[] itemOffsets, int sequences, int item)
    {
        int low = 0, high = sequences - 1;
        while (low < high)
        {
            int mid = (low + high + 1) / 2;
            if (itemOffsets[mid] <= item)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        return low;
    }
}
