using System;
using System.Linq;
using KernelDsl.Reference;

namespace KernelDsl.Gpu.Tests.Backward;

/// <summary>The [Backward] specs of GpuBackwardSpecs.cs as runnable cases, buffers and reference modifiers bound.</summary>
internal static class GpuBackwardCases
{
    public static string[] Names { get; } =
    {
        "Fp16Dense", "Bf16CausalBottomRightD128", "Bf16CausalTopLeft", "Fp16CausalBottomRightD128", "Fp16WindowD32", "Bf16D96Dv64",
        "Fp16Softcap", "Bf16AlibiSlopes", "Fp16SparseRows", "Fp16CausalD80", "Fp16DenseDeterministic",
    };

    /// <summary>Cases built with [Backward(Deterministic = true)]: they have no atomic-dQ mode.</summary>
    public static bool DeterministicOnly(string name) => name == "Fp16DenseDeterministic";

    public static int HeadDim(string name) => name switch
    {
        "Fp16WindowD32" => 32,
        "Fp16CausalD80" => 80,
        "Bf16D96Dv64" => 96,
        "Bf16CausalBottomRightD128" or "Fp16CausalBottomRightD128" or "Bf16AlibiSlopes" => 128,
        _ => 64,
    };

    public static int ValueHeadDim(string name) => name == "Bf16D96Dv64" ? 64 : HeadDim(name);

    public static bool IsBf16(string name) => name.StartsWith("Bf16", StringComparison.Ordinal);

    private static MaskBand Band(AttentionShape s, MaskKind kind, MaskAlignment alignment, int left = -1, int right = 0) =>
        MaskBand.For(kind, alignment, left, right, s.SeqQ, s.SeqKv);

    /// <summary>The case named <paramref name="name"/> for <paramref name="shape"/>; captured buffers drawn from <paramref name="random"/>.</summary>
    public static IDisposable Create(string name, AttentionShape shape, Random random) => name switch
    {
        "Fp16Dense" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = MaskBand.None,
            Forward = (q, k, v, o, lse) => GpuBwdFp16Dense.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16Dense.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Bf16CausalBottomRightD128" => new GpuBackwardCase<BFloat16>
        {
            Name = name, Layout = TensorLayout.BHSD, Band = Band(shape, MaskKind.Causal, MaskAlignment.BottomRight),
            Forward = (q, k, v, o, lse) => GpuBwdBf16CausalBottomRightD128.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdBf16CausalBottomRightD128.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Bf16CausalTopLeft" => new GpuBackwardCase<BFloat16>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = Band(shape, MaskKind.Causal, MaskAlignment.TopLeft),
            Forward = (q, k, v, o, lse) => GpuBwdBf16CausalTopLeft.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdBf16CausalTopLeft.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Fp16CausalBottomRightD128" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = Band(shape, MaskKind.Causal, MaskAlignment.BottomRight),
            Forward = (q, k, v, o, lse) => GpuBwdFp16CausalBottomRightD128.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16CausalBottomRightD128.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Fp16WindowD32" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = Band(shape, MaskKind.SlidingWindow, MaskAlignment.TopLeft, 37, 5),
            Forward = (q, k, v, o, lse) => GpuBwdFp16WindowD32.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16WindowD32.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Bf16D96Dv64" => new GpuBackwardCase<BFloat16>
        {
            Name = name, Layout = TensorLayout.BHSD, Band = MaskBand.None,
            Forward = (q, k, v, o, lse) => GpuBwdBf16D96Dv64.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdBf16D96Dv64.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Fp16Softcap" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = Band(shape, MaskKind.Causal, MaskAlignment.BottomRight),
            Forward = (q, k, v, o, lse) => GpuBwdFp16Softcap.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16Softcap.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
            ScoreMod = GpuBwdFp16Softcap.ScoreModifierReference,
            ScoreModBackward = GpuBwdFp16Softcap.ScoreModifierBackwardReference,
        },
        "Bf16AlibiSlopes" => AlibiSlopes(shape, random),
        "Fp16CausalD80" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = Band(shape, MaskKind.Causal, MaskAlignment.TopLeft),
            Forward = (q, k, v, o, lse) => GpuBwdFp16CausalD80.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16CausalD80.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Fp16DenseDeterministic" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = MaskBand.None,
            Forward = (q, k, v, o, lse) => GpuBwdFp16DenseDeterministic.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16DenseDeterministic.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
        },
        "Fp16SparseRows" => new GpuBackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = MaskBand.None,
            Forward = (q, k, v, o, lse) => GpuBwdFp16SparseRows.Forward(q, k, v, o, lse),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdFp16SparseRows.Backward(q, k, v, o, lse, dO, dq, dk, dv, deterministic: det),
            MaskMod = GpuBwdFp16SparseRows.MaskModifierReference,
        },
        _ => throw new ArgumentException("unknown case " + name, nameof(name)),
    };

    /// <summary>ALiBi with captured (not learnable) slopes in [0.05, 0.5): the device buffer is read by both passes.</summary>
    private static GpuBackwardCase<BFloat16> AlibiSlopes(AttentionShape shape, Random random)
    {
        float[] slopes = Enumerable.Range(0, shape.HeadsQ).Select(_ => 0.05f + (0.45f * (float)random.NextDouble())).ToArray();
        var device = DeviceBuffer<float>.From(slopes);
        return new GpuBackwardCase<BFloat16>
        {
            Name = "Bf16AlibiSlopes", Layout = TensorLayout.BSHD, Band = MaskBand.None,
            Forward = (q, k, v, o, lse) => GpuBwdBf16AlibiSlopes.Forward(q, k, v, o, lse, device),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, det) => GpuBwdBf16AlibiSlopes.Backward(q, k, v, o, lse, dO, dq, dk, dv, device, deterministic: det),
            ScoreMod = (x, b, h, i, j) => GpuBwdBf16AlibiSlopes.ScoreModifierReference(x, b, h, i, j, slopes),
            ScoreModBackward = (x, b, h, i, j, g) => GpuBwdBf16AlibiSlopes.ScoreModifierBackwardReference(x, b, h, i, j, slopes, g),
            Owned = new IDisposable[] { device },
        };
    }
}
