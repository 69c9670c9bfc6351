using KernelDsl;

namespace KernelDsl.Tests.Numerics;

// Specs beyond the matrix, for the paths it does not reach: an fp32 epilogue on 16-bit inputs, a value head
// dim that is not a whole number of vectors (V and O padded in scratch, fp32 V not read in place), a custom
// scale, and explicit small tiles (one vector of queries, several KV blocks per call).

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(OutputType = DType.FP32, WriteLse = true)]
internal static partial class Bf16InFp32OutCausal;

[Attention(HeadDim = 64, ValueHeadDim = 40)]
[Precision(DType.FP32)]
[Mask(MaskKind.SlidingWindow, Left = 30, Right = -1, Alignment = MaskAlignment.TopLeft)]
[Fusion(WriteLse = true)]
internal static partial class Fp32NarrowValuesWindow;

[Attention(HeadDim = 96, ValueHeadDim = 48, Scale = 0.3)]
[Precision(DType.FP16)]
[Layout(TensorLayout.BHSD)]
internal static partial class Fp16CustomScale;

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Tiling(BlockQ = 16, BlockKV = 16)]
[Fusion(WriteLse = true)]
internal static partial class Bf16SmallTiles;

internal static class ExtraSpecs
{
    public static readonly MatrixCase[] All =
    [
        new MatrixCase<BFloat16, float>("Bf16InFp32OutCausal", DType.BF16, TensorLayout.BSHD, MaskKind.Causal, MaskAlignment.BottomRight, -1, 0, 64, 64, true,
            (q, k, v, o, lse, s) => Bf16InFp32OutCausal.Forward(q, k, v, o, lse, s)),
        new MatrixCase<float, float>("Fp32NarrowValuesWindow", DType.FP32, TensorLayout.BSHD, MaskKind.SlidingWindow, MaskAlignment.TopLeft, 30, -1, 64, 40, true,
            (q, k, v, o, lse, s) => Fp32NarrowValuesWindow.Forward(q, k, v, o, lse, s)),
        new MatrixCase<System.Half, System.Half>("Fp16CustomScale", DType.FP16, TensorLayout.BHSD, MaskKind.None, MaskAlignment.Unspecified, -1, -1, 96, 48, false,
            (q, k, v, o, _, s) => Fp16CustomScale.Forward(q, k, v, o, s)) { Scale = 0.3 },
        new MatrixCase<BFloat16, BFloat16>("Bf16SmallTiles", DType.BF16, TensorLayout.BSHD, MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, 64, 64, true,
            (q, k, v, o, lse, s) => Bf16SmallTiles.Forward(q, k, v, o, lse, s)),
    ];
}
