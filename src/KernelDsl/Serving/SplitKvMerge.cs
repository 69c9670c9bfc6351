using System;

namespace KernelDsl;

/// <summary>
/// The merge of split-KV partial results by their log-sum-exp (the definition the GPU merge kernel implements, and its CPU
/// reference). Split c of a row attended to its own keys only and left O_c (normalised over those keys) and LSE_c (natural
/// log, −∞ when it kept no key). Then with m = max_c LSE_c and w_c = exp(LSE_c − m): O = Σ w_c·O_c / Σ w_c and
/// LSE = m + ln Σ w_c; a row whose splits all kept no key gives O = 0 and LSE = −∞, like a row of the unsplit kernel.
/// </summary>
public static class SplitKvMerge
{
    /// <param name="partialOutput">fp32 [splits, rows, valueHeadDim] (rows = totalQ · Hq, token-major like the output).</param>
    /// <param name="partialLse">fp32 [splits, rows].</param>
    /// <param name="splits">Number of splits.</param>
    /// <param name="valueHeadDim">Dv.</param>
    /// <param name="output">[rows, valueHeadDim], written in its element type.</param>
    /// <param name="lse">[rows] (or empty when not wanted).</param>
    public static void Merge<TOut>(ReadOnlySpan<float> partialOutput, ReadOnlySpan<float> partialLse, int splits, int valueHeadDim, Span<TOut> output, Span<float> lse)
        where TOut : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(splits, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(valueHeadDim, 1);
        int rows = partialLse.Length / splits;
        if (partialLse.Length != (long)rows * splits)
        {
            throw new ArgumentException($"'partialLse' has {partialLse.Length} elements, not a multiple of {splits} splits.", nameof(partialLse));
        }

        if (partialOutput.Length != (long)rows * splits * valueHeadDim)
        {
            throw new ArgumentException($"'partialOutput' has {partialOutput.Length} elements, but [splits, rows, Dv] = [{splits}, {rows}, {valueHeadDim}] needs {(long)rows * splits * valueHeadDim}.", nameof(partialOutput));
        }

        if (output.Length != (long)rows * valueHeadDim)
        {
            throw new ArgumentException($"'output' has {output.Length} elements, but [rows, Dv] = [{rows}, {valueHeadDim}] needs {(long)rows * valueHeadDim}.", nameof(output));
        }

        if (!lse.IsEmpty && lse.Length != rows)
        {
            throw new ArgumentException($"'lse' has {lse.Length} elements, but there are {rows} rows.", nameof(lse));
        }

        Span<float> accumulator = valueHeadDim <= 1024 ? stackalloc float[valueHeadDim] : new float[valueHeadDim];
        for (int row = 0; row < rows; row++)
        {
            float max = float.NegativeInfinity;
            for (int c = 0; c < splits; c++)
            {
                max = MathF.Max(max, partialLse[(c * rows) + row]);
            }

            accumulator.Clear();
            float sum = 0;
            if (!float.IsNegativeInfinity(max))
            {
                for (int c = 0; c < splits; c++)
                {
                    float split = partialLse[(c * rows) + row];
                    if (float.IsNegativeInfinity(split))
                    {
                        continue; // kept no key: contributes nothing (its O is 0 anyway)
                    }

                    float weight = MathF.Exp(split - max);
                    sum += weight;
                    var part = partialOutput.Slice(((c * rows) + row) * valueHeadDim, valueHeadDim);
                    for (int d = 0; d < valueHeadDim; d++)
                    {
                        accumulator[d] += weight * part[d];
                    }
                }
            }

            float inverse = sum == 0 ? 0 : 1 / sum;
            var destination = output.Slice(row * valueHeadDim, valueHeadDim);
            for (int d = 0; d < valueHeadDim; d++)
            {
                destination[d] = Reference.RandomTensors.FromFloat<TOut>(accumulator[d] * inverse);
            }

            if (!lse.IsEmpty)
            {
                lse[row] = sum == 0 ? float.NegativeInfinity : max + MathF.Log(sum);
            }
        }
    }
}
