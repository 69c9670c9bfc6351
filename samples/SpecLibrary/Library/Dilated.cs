using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// Strided sparse attention (Sparse Transformer, Child et al. 2019, "strided" pattern): causal, and each query
/// sees the previous <see cref="Stride"/> keys plus every key in its own column (kv ≡ q mod Stride).
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
public static partial class StridedSparseAttention
{
    public const int Stride = 64;

    [MaskMod]
    private static bool LocalOrSameColumn(int q, int kv) => q - kv < Stride || (q - kv) % Stride == 0;
}
