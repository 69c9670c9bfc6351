using System;

namespace KernelDsl;

/// <summary>
/// The split-KV decision of a decode launch: how many CTAs share one (sequence, KV head)'s keys, and how many keys each takes.
/// Decode has few CTAs without a split (one per sequence × KV head × block of packed query rows) and long key runs, so with a
/// small batch most SMs would idle. The rule, chosen at run time from the launch and the device (FlashAttention-2's wave
/// heuristic, stated here so the CPU tests and the GPU launcher agree):
/// <list type="number">
/// <item>one wave is <c>multiprocessors × residentCtasPerMultiprocessor</c> CTAs; a launch that already fills 80 % of a wave
/// is not split;</item>
/// <item>otherwise the candidates are 1 … <c>min(MaxSplits, KV tiles of the longest sequence / MinTilesPerSplit)</c> splits
/// (each split streams at least <see cref="MinTilesPerSplit"/> tiles of <c>blockKV</c> keys, so its Q load and its share of the
/// merge stay small), and a candidate's efficiency is waves / ceil(waves) with waves = CTAs × splits / wave size;</item>
/// <item>the smallest candidate within 85 % of the best efficiency wins (fewer splits: less merge work);</item>
/// <item>keys per split = the longest sequence's tiles spread evenly over the splits, in whole tiles; the split count is then
/// recomputed from it, so no split of the longest sequence is empty (shorter sequences may have empty splits: their partial
/// LSE is −∞ and the merge ignores them).</item>
/// </list>
/// </summary>
public readonly record struct DecodeSplit(int Splits, int KeysPerSplit)
{
    /// <summary>The most splits of one (sequence, KV head).</summary>
    public const int MaxSplits = 128;

    /// <summary>The fewest KV tiles one split streams.</summary>
    public const int MinTilesPerSplit = 2;

    /// <summary>No split: one CTA streams all keys.</summary>
    public static DecodeSplit None(int maxKvLength) => new(1, Math.Max(maxKvLength, 1));

    /// <param name="ctasWithoutSplit">CTAs of the launch without a split (sequences × KV heads × row blocks).</param>
    /// <param name="maxKvLength">The longest sequence in the cache (keys).</param>
    /// <param name="multiprocessors">The device's SM count.</param>
    /// <param name="residentCtasPerMultiprocessor">CTAs of this kernel resident on one SM (from its shared memory and registers).</param>
    /// <param name="blockKV">Keys per KV tile of the kernel.</param>
    public static DecodeSplit Choose(int ctasWithoutSplit, int maxKvLength, int multiprocessors, int residentCtasPerMultiprocessor, int blockKV)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ctasWithoutSplit);
        ArgumentOutOfRangeException.ThrowIfNegative(maxKvLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(multiprocessors, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(residentCtasPerMultiprocessor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockKV, 1);
        int wave = multiprocessors * residentCtasPerMultiprocessor;
        int tiles = (int)(((long)maxKvLength + blockKV - 1) / blockKV);
        int limit = Math.Min(MaxSplits, tiles / MinTilesPerSplit);
        if (ctasWithoutSplit == 0 || ctasWithoutSplit >= 0.8 * wave || limit <= 1)
        {
            return None(maxKvLength);
        }

        double best = 0;
        var efficiency = new double[limit + 1];
        for (int splits = 1; splits <= limit; splits++)
        {
            double waves = (double)ctasWithoutSplit * splits / wave;
            efficiency[splits] = waves / Math.Ceiling(waves);
            best = Math.Max(best, efficiency[splits]);
        }

        int chosen = 1;
        while (efficiency[chosen] < 0.85 * best)
        {
            chosen++;
        }

        int tilesPerSplit = (tiles + chosen - 1) / chosen;
        int keysPerSplit = tilesPerSplit * blockKV;
        return new DecodeSplit((tiles + tilesPerSplit - 1) / tilesPerSplit, keysPerSplit);
    }
}
