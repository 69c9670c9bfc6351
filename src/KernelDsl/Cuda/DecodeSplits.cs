using System;

namespace KernelDsl.Cuda;

/// <summary>
/// How many CTAs the paged decode kernel gives each sequence's KV range (split-KV), chosen on the host from the batch's
/// host-side figures (sequences, longest length, total tokens), the grid's base CTAs and the GPU's CTA slots — never by
/// reading the device. One rule, a cost model in 64-key tiles (the kernel's tile), evaluated for every n from 1 to
/// min(64, ceil(longest / 256)) (every split at least four tiles, at most 64 partials for the merge):
/// <code>
///   C        = sequences · H                  the grid without splits (H = Hkv · row blocks)
///   slots    = SMs · CTAs per SM              from the kernel's shared memory, threads and registers (CtasPerMultiprocessor)
///   cta(n)   = ceil(tiles_max / n) + 1        the longest CTA: its tiles plus a fixed cost of about one tile
///   work(n)  = H · tiles_total + C · n · 1    every CTA's tiles plus its fixed cost
///   cost(n)  = cta(n) · ceil(work(n) / (slots · cta(n)))  +  (n &gt; 1 ? 2 : 0)   waves of the longest CTA, plus the merge
/// </code>
/// and the cheapest n wins (ties: fewer splits). tiles_max = ceil(longest / 64); tiles_total = min(sequences · tiles_max,
/// ceil(total / 64) + sequences) (the sum of per-sequence tile counts, exact for equal lengths).
/// Why: with equal lengths every CTA streams the same keys, so cost(n) is the launch's exact wave count times a CTA's time —
/// a launch a few CTAs past a wave costs a second CTA time (measured on the H200, 2026-12-03, NOTES "Paged decode kernel":
/// 288 CTAs over 264 slots read at 57–62 % of copy bandwidth, launches of at most one wave at 89–97 %). With ragged lengths
/// the split count follows the total keys, not the longest sequence alone: it cuts the longest sequence until its CTAs are
/// no longer than the waves the whole batch's keys need (B 16 ragged to 32k at two splits left the longest sequence's CTAs
/// running alone: 387 µs where one wave of balanced CTAs needs about half).
/// </summary>
public static class DecodeSplits
{
    /// <summary>The most splits per sequence.</summary>
    public const int Max = 64;

    /// <summary>Keys a split should have at least (four 64-key tiles).</summary>
    public const int MinKeysPerSplit = 256;

    /// <summary>Keys per decode tile (the kernel's 4 warps × 16 keys): the unit of the cost model.</summary>
    public const int KeysPerTile = 64;

    /// <summary>A CTA's fixed cost (setup, Q load, the ring's first latency, the warps' merge and the write), in tiles.</summary>
    public const int CtaCostTiles = 1;

    /// <summary>The merge kernel's cost (a second launch and the partials' round trip), in tiles.</summary>
    public const int MergeCostTiles = 2;

    /// <summary>Shared memory the CUDA driver reserves per CTA on sm_80 and later (1 KiB).</summary>
    public const int ReservedSharedMemoryPerCta = 1024;

    [ThreadStatic]
    private static int t_forced;

    /// <summary>
    /// Forces the split count of the device <c>Decode</c> calls made on this thread (tests, measurements); null (the default)
    /// restores the rule. A forced count is still capped at <see cref="Max"/>.
    /// </summary>
    public static int? Forced
    {
        get => t_forced > 0 ? t_forced : null;
        set
        {
            if (value is int v)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(v, 1, nameof(value));
                ArgumentOutOfRangeException.ThrowIfGreaterThan(v, Max, nameof(value));
            }

            t_forced = value ?? 0;
        }
    }

    /// <summary>
    /// The rule (see the class summary), or the forced count. <paramref name="ctas"/> is C (sequences × Hkv × row blocks),
    /// <paramref name="slots"/> the CTAs the GPU runs at once (SMs × <see cref="CtasPerMultiprocessor"/>).
    /// </summary>
    public static int Choose(long ctas, int sequences, int maxKvLength, long totalKvTokens, int slots)
    {
        if (Forced is int forced)
        {
            return forced;
        }

        if (ctas <= 0 || sequences <= 0 || slots <= 0 || maxKvLength <= MinKeysPerSplit)
        {
            return 1;
        }

        long perSequence = Math.Max(1, ctas / sequences);
        long tilesMax = Tiles(maxKvLength);
        long tilesTotal = Math.Min(sequences * tilesMax, Tiles(Math.Max(0, totalKvTokens)) + sequences);
        int most = (int)Math.Min(Max, (maxKvLength + MinKeysPerSplit - 1) / MinKeysPerSplit);
        int best = 1;
        long bestCost = long.MaxValue;
        for (int n = 1; n <= most; n++)
        {
            long cost = Cost(n, ctas, perSequence, tilesMax, tilesTotal, slots);
            if (cost < bestCost)
            {
                (best, bestCost) = (n, cost);
            }
        }

        return best;
    }

    /// <summary>cost(n) of the class summary, in tiles: waves of the longest CTA needed to hold every CTA's work, plus the merge.</summary>
    public static long Cost(int splits, long ctas, long ctasPerSequence, long tilesMax, long tilesTotal, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(splits, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        long cta = ((tilesMax + splits - 1) / splits) + CtaCostTiles;
        long work = (ctasPerSequence * tilesTotal) + (ctas * splits * CtaCostTiles);
        long waves = Math.Max(1, (work + (slots * cta) - 1) / (slots * cta));
        return (waves * cta) + (splits > 1 ? MergeCostTiles : 0);
    }

    /// <summary>
    /// CTAs of a kernel one SM holds at once: the least of what its shared memory (plus the driver's 1 KiB per CTA) and its
    /// registers (allocated per warp in units of 256) allow, at least 1 and at most 16. Thread limits never bind for the
    /// decode kernel (128 threads), so they are left out.
    /// </summary>
    public static int CtasPerMultiprocessor(int sharedBytesPerCta, int threadsPerCta, int registersPerThread, int sharedBytesPerSm, int registersPerSm)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadsPerCta, 1);
        int bySharedMemory = sharedBytesPerSm / (Math.Max(0, sharedBytesPerCta) + ReservedSharedMemoryPerCta);
        int warps = (threadsPerCta + 31) / 32;
        int registersPerWarp = ((Math.Max(1, registersPerThread) * 32) + 255) / 256 * 256;
        int byRegisters = registersPerSm / (registersPerWarp * warps);
        return Math.Clamp(Math.Min(bySharedMemory, byRegisters), 1, 16);
    }

    private static long Tiles(long keys) => (keys + KeysPerTile - 1) / KeysPerTile;
}
