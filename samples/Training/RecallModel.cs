using System;
using System.Collections.Generic;
using KernelDsl;

namespace Training;

/// <summary>
/// Embeddings → one attention layer (RecallAttention: Q, K, V projections, two heads, learnable distance slopes) → a
/// linear head on the query position → softmax cross-entropy. The forward and backward of the attention are the
/// generated CPU kernels; everything else is written out here, matrices row-major.
/// </summary>
internal sealed class RecallModel
{
    public const int Heads = 2;
    public const int HeadDim = 32;
    public const int Width = Heads * HeadDim;

    private readonly RecallTask _task;

    public RecallModel(RecallTask task, Random random)
    {
        _task = task;
        float projection = MathF.Sqrt(3f / Width);
        KeyEmbedding = new Parameter("key embedding", task.Keys * Width, random, 1f);
        ValueEmbedding = new Parameter("value embedding", task.Values * Width, random, 1f);
        QueryMarker = new Parameter("query marker", Width, random, 1f);
        Wq = new Parameter("Wq", Width * Width, random, projection);
        Wk = new Parameter("Wk", Width * Width, random, projection);
        Wv = new Parameter("Wv", Width * Width, random, projection);
        Wo = new Parameter("Wo", Width * task.Values, random, projection);
        Bias = new Parameter("output bias", task.Values, random, 0f);
        Slopes = new Parameter("ALiBi slopes", Heads, random, 0f);
        Array.Fill(Slopes.Value, 0.1f);
    }

    public Parameter KeyEmbedding { get; }

    public Parameter ValueEmbedding { get; }

    public Parameter QueryMarker { get; }

    public Parameter Wq { get; }

    public Parameter Wk { get; }

    public Parameter Wv { get; }

    public Parameter Wo { get; }

    public Parameter Bias { get; }

    public Parameter Slopes { get; }

    public IEnumerable<Parameter> Parameters => new[] { KeyEmbedding, ValueEmbedding, QueryMarker, Wq, Wk, Wv, Wo, Bias, Slopes };

    /// <summary>Mean cross-entropy and accuracy on a batch; with <paramref name="train"/>, also adds the gradients into every parameter.</summary>
    public (double Loss, double Accuracy) Step((int[] Keys, int[] Values, int[] Query, int[] Target) batch, bool train)
    {
        int b = batch.Query.Length, s = _task.Length, p = _task.Pairs, n = b * s;
        var shape = new AttentionShape(b, s, s, Heads, Heads, HeadDim, HeadDim);

        // Embeddings: a pair position is key + value, the query position is key + the query marker.
        var x = new float[n * Width];
        for (int e = 0; e < b; e++)
        {
            for (int t = 0; t < s; t++)
            {
                var row = x.AsSpan(((e * s) + t) * Width, Width);
                var second = t < p ? ValueEmbedding.Value.AsSpan(batch.Values[(e * p) + t] * Width, Width) : QueryMarker.Value.AsSpan();
                var key = KeyEmbedding.Value.AsSpan((t < p ? batch.Keys[(e * p) + t] : batch.Query[e]) * Width, Width);
                for (int c = 0; c < Width; c++)
                {
                    row[c] = key[c] + second[c];
                }
            }
        }

        // Attention: Q, K, V = X·W as [B, S, H, D] (BSHD), O and LSE from the generated Forward.
        float[] q = Linear.Multiply(x, Wq.Value, n, Width, Width), k = Linear.Multiply(x, Wk.Value, n, Width, Width), v = Linear.Multiply(x, Wv.Value, n, Width, Width);
        var o = new float[n * Width];
        var lse = new float[b * Heads * s];
        RecallAttention.Forward(q, k, v, o, lse, Slopes.Value, shape);

        // Head: logits of the query position, softmax cross-entropy.
        int classes = _task.Values;
        double loss = 0;
        int correct = 0;
        var dLogits = new float[b * classes];
        var hidden = new float[b * Width];
        for (int e = 0; e < b; e++)
        {
            Array.Copy(o, ((e * s) + p) * Width, hidden, e * Width, Width);
        }

        float[] logits = Linear.Multiply(hidden, Wo.Value, b, Width, classes);
        for (int e = 0; e < b; e++)
        {
            var row = logits.AsSpan(e * classes, classes);
            float max = float.NegativeInfinity;
            int best = 0;
            for (int c = 0; c < classes; c++)
            {
                row[c] += Bias.Value[c];
                if (row[c] > max)
                {
                    max = row[c];
                    best = c;
                }
            }

            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                sum += Math.Exp(row[c] - max);
            }

            loss += Math.Log(sum) + max - row[batch.Target[e]];
            correct += best == batch.Target[e] ? 1 : 0;
            for (int c = 0; c < classes; c++)
            {
                dLogits[(e * classes) + c] = (float)((Math.Exp(row[c] - max) / sum) - (c == batch.Target[e] ? 1 : 0)) / b;
            }
        }

        if (train)
        {
            Backward(batch, x, q, k, v, o, lse, hidden, dLogits, shape);
        }

        return (loss / b, correct / (double)b);
    }

    private void Backward((int[] Keys, int[] Values, int[] Query, int[] Target) batch, float[] x, float[] q, float[] k, float[] v, float[] o, float[] lse, float[] hidden, float[] dLogits, AttentionShape shape)
    {
        int b = shape.Batch, s = shape.SeqQ, p = _task.Pairs, n = b * s, classes = _task.Values;

        // Head: dWo = hᵀ·dLogits, dBias = Σ dLogits, dO at the query positions = dLogits·Woᵀ (zero elsewhere).
        Linear.AddTransposedProduct(hidden, dLogits, Wo.Gradient, b, Width, classes);
        for (int e = 0; e < b; e++)
        {
            for (int c = 0; c < classes; c++)
            {
                Bias.Gradient[c] += dLogits[(e * classes) + c];
            }
        }

        float[] dHidden = Linear.MultiplyTransposed(dLogits, Wo.Value, b, classes, Width);
        var dO = new float[n * Width];
        for (int e = 0; e < b; e++)
        {
            Array.Copy(dHidden, e * Width, dO, ((e * s) + p) * Width, Width);
        }

        // Attention: the generated Backward gives dQ, dK, dV and the slopes' gradient.
        float[] dq = new float[n * Width], dk = new float[n * Width], dv = new float[n * Width];
        var dSlopes = new float[Heads];
        RecallAttention.Backward(q, k, v, o, lse, dO, dq, dk, dv, Slopes.Value, dSlopes, shape);
        for (int h = 0; h < Heads; h++)
        {
            Slopes.Gradient[h] += dSlopes[h];
        }

        // Projections: dW = Xᵀ·dY; dX = Σ dY·Wᵀ.
        Linear.AddTransposedProduct(x, dq, Wq.Gradient, n, Width, Width);
        Linear.AddTransposedProduct(x, dk, Wk.Gradient, n, Width, Width);
        Linear.AddTransposedProduct(x, dv, Wv.Gradient, n, Width, Width);
        float[] dx = Linear.MultiplyTransposed(dq, Wq.Value, n, Width, Width);
        Linear.Add(dx, Linear.MultiplyTransposed(dk, Wk.Value, n, Width, Width));
        Linear.Add(dx, Linear.MultiplyTransposed(dv, Wv.Value, n, Width, Width));

        // Embeddings: scatter dX back to the rows each position read.
        for (int e = 0; e < b; e++)
        {
            for (int t = 0; t < s; t++)
            {
                var row = dx.AsSpan(((e * s) + t) * Width, Width);
                int key = t < p ? batch.Keys[(e * p) + t] : batch.Query[e];
                var second = t < p ? ValueEmbedding.Gradient.AsSpan(batch.Values[(e * p) + t] * Width, Width) : QueryMarker.Gradient.AsSpan();
                var keyGradient = KeyEmbedding.Gradient.AsSpan(key * Width, Width);
                for (int c = 0; c < Width; c++)
                {
                    keyGradient[c] += row[c];
                    second[c] += row[c];
                }
            }
        }
    }
}
