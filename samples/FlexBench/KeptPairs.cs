namespace FlexBench;

/// <summary>
/// Kept (q, kv) pairs per (batch, head) of each variant, counted exactly from the mask's definition with Sq = Skv = s
/// (flex_variants.py counts its own the same way; compare_variants.py checks that both agree).
/// </summary>
internal static class KeptPairs
{
    /// <summary>kv ≤ q: s(s+1)/2.</summary>
    public static long Causal(int s) => (long)s * (s + 1) / 2;

    /// <summary>q − window &lt; kv ≤ q: row q keeps min(q + 1, window) keys.</summary>
    public static long CausalWindow(int s, int window)
    {
        long full = System.Math.Max(0, s - window);
        long ramp = System.Math.Min(s, window);
        return (ramp * (ramp + 1) / 2) + (full * window);
    }
}
