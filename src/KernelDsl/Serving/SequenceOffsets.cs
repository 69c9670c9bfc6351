using System;

namespace KernelDsl;

/// <summary>
/// Checks of cumulative sequence offsets (FlashAttention's <c>cu_seqlens</c>): B + 1 entries, starting at 0, never
/// decreasing; sequence s spans tokens [offsets[s], offsets[s + 1]) of the packed tensor. Every failure names the argument.
/// </summary>
public static class SequenceOffsets
{
    /// <summary>Throws an <see cref="ArgumentException"/> named <paramref name="name"/> unless the offsets are valid for <paramref name="sequences"/> sequences.</summary>
    public static void Validate(ReadOnlySpan<int> offsets, int sequences, string name)
    {
        if (offsets.Length != sequences + 1)
        {
            throw new ArgumentException($"'{name}' has {offsets.Length} entries, but {sequences} sequences need {sequences + 1} (cumulative offsets, starting at 0).", name);
        }

        if (offsets[0] != 0)
        {
            throw new ArgumentException($"'{name}' must start at 0, but starts at {offsets[0]}.", name);
        }

        for (int s = 0; s < sequences; s++)
        {
            if (offsets[s + 1] < offsets[s])
            {
                throw new ArgumentException($"'{name}' must not decrease, but entry {s + 1} ({offsets[s + 1]}) is below entry {s} ({offsets[s]}).", name);
            }
        }
    }

    /// <summary>The longest sequence: max over s of offsets[s + 1] − offsets[s] (0 for no sequence).</summary>
    public static int MaxLength(ReadOnlySpan<int> offsets)
    {
        int max = 0;
        for (int s = 0; s + 1 < offsets.Length; s++)
        {
            max = Math.Max(max, offsets[s + 1] - offsets[s]);
        }

        return max;
    }
}
