using System;
using System.Collections.Generic;
using KernelDsl.Reference;

namespace KernelDsl.Tests.Backward;

/// <summary>
/// BF16 inputs with an FP32 output (<c>[Fusion(OutputType = DType.FP32)]</c>): O and dO are float, q/k/v and the
/// gradients bfloat16 — the one case where the Backward's element types differ.
/// </summary>
internal sealed class MixedBackwardCase
{
    public GradientErrors Run(AttentionShape shape, int seed)
    {
        var random = new Random(seed);
        int qCount = shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim;
        int kCount = shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim;
        int oCount = shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim;
        var q = RandomTensors.Uniform<BFloat16>(random, qCount);
        var k = RandomTensors.Uniform<BFloat16>(random, kCount);
        var v = RandomTensors.Uniform<BFloat16>(random, kCount);
        var dO = RandomTensors.Uniform<float>(random, oCount);
        var output = new float[oCount];
        var lse = new float[shape.Batch * shape.HeadsQ * shape.SeqQ];
        BwdBf16InFp32Out.Forward(q, k, v, output, lse, shape);
        BFloat16[] Poisoned(int count)
        {
            var array = new BFloat16[count];
            Array.Fill(array, (BFloat16)float.NaN);
            return array;
        }

        BFloat16[] dq = Poisoned(qCount), dk = Poisoned(kCount), dv = Poisoned(kCount);
        BwdBf16InFp32Out.Backward(q, k, v, output, lse, dO, dq, dk, dv, shape);
        var expected = AttentionReferenceBackward.Compute<BFloat16, float>(q, k, v, dO, shape, TensorLayout.BSHD, 1 / Math.Sqrt(shape.HeadDim), MaskBand.None);
        return new GradientErrors(
            ErrorMetrics.RelativeError<BFloat16>(dq, expected.DQ),
            ErrorMetrics.RelativeError<BFloat16>(dk, expected.DK),
            ErrorMetrics.RelativeError<BFloat16>(dv, expected.DV),
            new Dictionary<string, double>());
    }
}
