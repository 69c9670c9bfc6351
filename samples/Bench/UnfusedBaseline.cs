using System;
using System.Numerics.Tensors;
using System.Threading.Tasks;

namespace Bench;

/// <summary>
/// Unfused attention the way one writes it with System.Numerics.Tensors: per head, materialise the whole
/// score matrix S = scale·QKᵀ (one TensorPrimitives.Dot per query/key pair, SIMD inside), softmax each row
/// with TensorPrimitives.SoftMax, then O = P·V as one TensorPrimitives.MultiplyAdd (axpy) per key. Parallel
/// over heads on all cores; 16-bit inputs are widened to fp32 once per head. Each worker holds one Sq×Skv
/// fp32 matrix — the memory that grows as S².
/// </summary>
internal static class UnfusedBaseline
{
    /// <summary>Contiguous BSHD tensors (B = 1): q [S, H, D], k/v [S, H, D], output [S, H, D].</summary>
    public static void Run<T>(T[] q, T[] k, T[] v, T[] output, int seq, int heads, int dim, Func<T, float> widen, Func<float, T> narrow)
    {
        float scale = 1f / MathF.Sqrt(dim);
        // One worker per core, each with one workspace, taking heads round-robin.
        int workers = Math.Min(Environment.ProcessorCount, heads);
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            var ws = new Workspace(seq, dim);
            for (int h = worker; h < heads; h += workers)
            {
                Head(q, k, v, output, seq, heads, dim, h, scale, ws, widen, narrow);
            }
        });
    }

    private static void Head<T>(T[] q, T[] k, T[] v, T[] output, int seq, int heads, int dim, int h, float scale, Workspace ws, Func<T, float> widen, Func<float, T> narrow)
    {
        Gather(q, ws.Q, seq, heads, dim, h, widen);
        Gather(k, ws.K, seq, heads, dim, h, widen);
        Gather(v, ws.V, seq, heads, dim, h, widen);

        // S = scale · Q·Kᵀ, materialised.
        for (int i = 0; i < seq; i++)
        {
            var qi = ws.Q.AsSpan(i * dim, dim);
            var row = ws.Scores.AsSpan(i * seq, seq);
            for (int j = 0; j < seq; j++)
            {
                row[j] = TensorPrimitives.Dot(qi, ws.K.AsSpan(j * dim, dim));
            }

            TensorPrimitives.Multiply(row, scale, row);
        }

        // P = softmax(S) row by row, then O = P·V.
        for (int i = 0; i < seq; i++)
        {
            var row = ws.Scores.AsSpan(i * seq, seq);
            TensorPrimitives.SoftMax(row, row);
            var oi = ws.O.AsSpan(i * dim, dim);
            oi.Clear();
            for (int j = 0; j < seq; j++)
            {
                TensorPrimitives.MultiplyAdd(ws.V.AsSpan(j * dim, dim), row[j], oi, oi);
            }
        }

        for (int i = 0; i < seq; i++)
        {
            for (int d = 0; d < dim; d++)
            {
                output[(((long)i * heads) + h) * dim + d] = narrow(ws.O[(i * dim) + d]);
            }
        }
    }

    private static void Gather<T>(T[] source, float[] destination, int seq, int heads, int dim, int h, Func<T, float> widen)
    {
        for (int i = 0; i < seq; i++)
        {
            for (int d = 0; d < dim; d++)
            {
                destination[(i * dim) + d] = widen(source[(((long)i * heads) + h) * dim + d]);
            }
        }
    }

    private sealed class Workspace(int seq, int dim)
    {
        public readonly float[] Q = new float[seq * dim], K = new float[seq * dim], V = new float[seq * dim], O = new float[seq * dim];
        public readonly float[] Scores = new float[(long)seq * seq];
    }
}
