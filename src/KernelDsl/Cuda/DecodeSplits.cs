using System;

namespace KernelDsl.Cuda;

/// <summary>
/// How many CTAs the paged decode kernel gives each sequence's KV range (split-KV), chosen on the host from the batch's
/// host-side figures and the device's SM count — never by reading the device. The rule: with C = sequences × Hkv × row
/// blocks CTAs (row blocks = ceil(G·q_max / 16)), a grid of C ≥ SMs already fills the GPU, so 1 (no workspace, no merge
/// kernel); otherwise splits = min(floor(2·SMs / C), ceil(longest sequence / 256), 64), at least 1 — at most one wave of
/// two CTAs per SM (the D ≤ 128 kernel fits two per SM on sm_90), with every split at least 256 keys (four 64-key tiles,
/// so the ring's prologue is not all there is) and at most 64 partials per row for the merge to read.
/// Floor, not ceil: every CTA streams the same number of keys, so a launch a few CTAs past one wave takes two CTA times
/// for one wave's work. Measured on the H200 (2026-12-03, NOTES "Paged decode kernel"): ceil gave 288 CTAs for B 4 × Hkv 8
/// (1.09 waves) and 57–62 % of the copy bandwidth, where launches of at most one wave reached 89–97 %.
/// </summary>
public static class DecodeSplits
{
    /// <summary>The most splits per sequence.</summary>
    public const int Max = 64;

    /// <summary>Keys a split should have at least (four 64-key tiles).</summary>
    public const int MinKeysPerSplit = 256;

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

    /// <summary>The rule (see the class summary), or the forced count.</summary>
    public static int Choose(long ctas, int maxKvLength, int multiprocessors)
    {
        if (Forced is int forced)
        {
            return forced;
        }

        if (ctas <= 0 || ctas >= multiprocessors || maxKvLength <= MinKeysPerSplit)
        {
            return 1;
        }

        long byOccupancy = (2L * multiprocessors) / ctas;
        long byLength = (maxKvLength + MinKeysPerSplit - 1) / MinKeysPerSplit;
        return (int)Math.Max(1, Math.Min(Math.Min(byOccupancy, byLength), Max));
    }
}
