using System;

namespace KernelDsl;

/// <summary>
/// Rotary position embedding (RoPE) of one head dim: the first <see cref="RotaryDim"/> features of each head are taken as
/// RotaryDim / 2 pairs (x₀, x₁), and pair i of the token at position p is rotated by the angle p·θᵢ with
/// θᵢ = base^(−2i / RotaryDim): (x₀ cos − x₁ sin, x₀ sin + x₁ cos). Features at RotaryDim and beyond (partial rotary) are
/// copied unchanged. <see cref="Convention"/> says which features form pair i.
/// <para>The runtime description and its float64 reference (<see cref="Apply"/>); a spec's <c>[Fusion(Rotary = …)]</c> is
/// applied by its generated <c>DecodeAppend</c> (its <c>Serving.Rotary</c> is one of these).</para>
/// </summary>
public sealed class RotaryEmbedding
{
    /// <summary>Checks every argument, naming it: <paramref name="headDim"/> &gt; 0; <paramref name="rotaryDim"/> even, &gt; 0
    /// and ≤ headDim; <paramref name="base"/> finite and &gt; 0.</summary>
    public RotaryEmbedding(int headDim, int rotaryDim, double @base = 10000.0, RotaryConvention convention = RotaryConvention.Interleaved)
    {
        if (headDim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "The head dim must be positive.");
        }

        if (rotaryDim <= 0 || rotaryDim % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rotaryDim), rotaryDim, "The rotary dim must be positive and even: features are rotated in pairs.");
        }

        if (rotaryDim > headDim)
        {
            throw new ArgumentOutOfRangeException(nameof(rotaryDim), rotaryDim, $"The rotary dim must not exceed the head dim ({headDim}).");
        }

        if (!(@base > 0) || double.IsInfinity(@base))
        {
            throw new ArgumentOutOfRangeException(nameof(@base), @base, "The rotary base must be finite and positive.");
        }

        if (!Enum.IsDefined(convention))
        {
            throw new ArgumentOutOfRangeException(nameof(convention), convention, "Not a RotaryConvention.");
        }

        HeadDim = headDim;
        RotaryDim = rotaryDim;
        Base = @base;
        Convention = convention;
    }

    /// <summary>D, the features per head.</summary>
    public int HeadDim { get; }

    /// <summary>Features rotated (even, ≤ D); the rest pass through.</summary>
    public int RotaryDim { get; }

    /// <summary>The frequency base (10000 in most models; 500000 in Llama 3).</summary>
    public double Base { get; }

    public RotaryConvention Convention { get; }

    /// <summary>θᵢ = base^(−2i / RotaryDim), the angle per position of pair <paramref name="pair"/>.</summary>
    public double Frequency(int pair)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pair);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pair, RotaryDim / 2);
        return Math.Pow(Base, -2.0 * pair / RotaryDim);
    }

    /// <summary>The two features of pair <paramref name="pair"/> within a head, by <see cref="Convention"/>.</summary>
    public (int First, int Second) PairFeatures(int pair) =>
        Convention == RotaryConvention.Interleaved ? (2 * pair, (2 * pair) + 1) : (pair, pair + (RotaryDim / 2));

    /// <summary>
    /// The float64 reference: <paramref name="x"/> [tokens, heads, HeadDim] token-major, token t at position
    /// <paramref name="positions"/>[t] (tokens = positions.Length; heads = x.Length / (tokens · HeadDim)), rotated into
    /// <paramref name="y"/> (same shape; y may be x itself, in place, but must not otherwise overlap it). Angles and
    /// rotations are computed in double and rounded to float once.
    /// </summary>
    public void Apply(ReadOnlySpan<float> x, ReadOnlySpan<int> positions, Span<float> y)
    {
        int tokens = positions.Length;
        if (tokens == 0 ? x.Length != 0 : x.Length % ((long)tokens * HeadDim) != 0)
        {
            throw new ArgumentException($"'x' has {x.Length} elements, which is not [tokens = {tokens}, heads, D = {HeadDim}].", nameof(x));
        }

        if (y.Length != x.Length)
        {
            throw new ArgumentException($"'y' has {y.Length} elements, but 'x' has {x.Length}.", nameof(y));
        }

        if (x.Overlaps(y, out int shift) && shift != 0)
        {
            throw new ArgumentException("'y' overlaps 'x' without being the same span.", nameof(y));
        }

        int heads = tokens == 0 ? 0 : x.Length / (tokens * HeadDim);
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                int row = ((t * heads) + h) * HeadDim;
                for (int i = 0; i < RotaryDim / 2; i++)
                {
                    var (a, b) = PairFeatures(i);
                    double angle = positions[t] * Frequency(i);
                    double cos = Math.Cos(angle), sin = Math.Sin(angle);
                    double x0 = x[row + a], x1 = x[row + b];
                    y[row + a] = (float)((x0 * cos) - (x1 * sin));
                    y[row + b] = (float)((x0 * sin) + (x1 * cos));
                }

                x.Slice(row + RotaryDim, HeadDim - RotaryDim).CopyTo(y.Slice(row + RotaryDim, HeadDim - RotaryDim));
            }
        }
    }
}
