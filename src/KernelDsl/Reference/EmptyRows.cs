using System;

namespace KernelDsl.Reference;

/// <summary>
/// Checks the "no kept key" rule on a kernel's output: every query row whose reference LSE is −∞ must be exactly 0
/// in O (and −∞ in the kernel's LSE, when it writes one). Shared by the CPU and GPU numeric tests.
/// </summary>
public static class EmptyRows
{
    /// <returns>How many rows had no kept key, and whether every one of them is exact.</returns>
    public static (int Count, bool Exact) Check<TOut>(
        AttentionShape shape, TensorLayout layout, ReadOnlySpan<TOut> output, ReadOnlySpan<float> lse, bool writesLse, ReferenceResult reference)
        where TOut : unmanaged
    {
        int count = 0;
        bool exact = true;
        var index = new ContiguousIndex(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        for (int b = 0; b < shape.Batch; b++)
        {
            for (int h = 0; h < shape.HeadsQ; h++)
            {
                for (int i = 0; i < shape.SeqQ; i++)
                {
                    long at = (((long)b * shape.HeadsQ) + h) * shape.SeqQ + i;
                    if (!double.IsNegativeInfinity(reference.Lse[at]))
                    {
                        continue;
                    }

                    count++;
                    exact &= !writesLse || float.IsNegativeInfinity(lse[(int)at]);
                    for (int d = 0; d < shape.ValueHeadDim; d++)
                    {
                        exact &= AttentionReference.ToDouble(output[(int)index.At(b, i, h, d)]) == 0;
                    }
                }
            }
        }

        return (count, exact);
    }
}
