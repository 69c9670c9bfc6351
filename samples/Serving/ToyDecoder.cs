using System;
using System.Numerics.Tensors;
using KernelDsl;

namespace Serving;

/// <summary>
/// A one-layer decoder with random weights: x → q, k, v (GQA projections) → attention over the cache → x + o·Wo, normalised.
/// It computes nothing useful; it moves the data a real decoder layer moves, so the attention step sees realistic calls.
/// </summary>
internal sealed class ToyDecoder
{
    private readonly float[] _wq, _wk, _wv, _wo;

    public ToyDecoder(Random random, int headsQ, int headsKv, int headDim)
    {
        HeadsQ = headsQ;
        HeadsKv = headsKv;
        HeadDim = headDim;
        Width = headsQ * headDim;
        float scale = 1f / MathF.Sqrt(Width);
        _wq = Weights(random, Width * headsQ * headDim, scale);
        _wk = Weights(random, Width * headsKv * headDim, scale);
        _wv = Weights(random, Width * headsKv * headDim, scale);
        _wo = Weights(random, headsQ * headDim * Width, scale);
    }

    public int HeadsQ { get; }

    public int HeadsKv { get; }

    public int HeadDim { get; }

    /// <summary>The model width (Hq · D).</summary>
    public int Width { get; }

    /// <summary>A random unit-norm hidden state (a token's embedding).</summary>
    public float[] Embed(Random random)
    {
        var x = Weights(random, Width, 1f);
        TensorPrimitives.Divide(x, TensorPrimitives.Norm(x), x);
        return x;
    }

    /// <summary>q [Hq·D], k and v [Hkv·D] of one token, in bf16.</summary>
    public void Project(ReadOnlySpan<float> x, Span<BFloat16> q, Span<BFloat16> k, Span<BFloat16> v)
    {
        MatVec(x, _wq, q);
        MatVec(x, _wk, k);
        MatVec(x, _wv, v);
    }

    /// <summary>The next hidden state: x + o·Wo, normalised.</summary>
    public float[] Residual(ReadOnlySpan<float> x, ReadOnlySpan<BFloat16> o)
    {
        var widened = new float[o.Length];
        for (int i = 0; i < o.Length; i++)
        {
            widened[i] = (float)o[i];
        }

        var next = new float[Width];
        MatVec(widened, _wo, next);
        TensorPrimitives.Add(next, x, next);
        TensorPrimitives.Divide(next, TensorPrimitives.Norm(next), next);
        return next;
    }

    /// <summary>y[j] = Σ_i x[i]·W[i, j] (W row-major [x.Length, y.Length]).</summary>
    private static void MatVec(ReadOnlySpan<float> x, float[] w, Span<float> y)
    {
        y.Clear();
        for (int i = 0; i < x.Length; i++)
        {
            TensorPrimitives.MultiplyAdd(w.AsSpan(i * y.Length, y.Length), x[i], y, y);
        }
    }

    private static void MatVec(ReadOnlySpan<float> x, float[] w, Span<BFloat16> y)
    {
        Span<float> wide = y.Length <= 4096 ? stackalloc float[y.Length] : new float[y.Length];
        MatVec(x, w, wide);
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = (BFloat16)wide[i];
        }
    }

    private static float[] Weights(Random random, int count, float scale)
    {
        var w = new float[count];
        for (int i = 0; i < count; i++)
        {
            w[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return w;
    }
}
