namespace KernelDsl.Generators.Tests.Infrastructure;

/// <summary>The representative specs whose generated files are snapshotted (and reused by other tests).</summary>
internal static class SpecSources
{
    public const string PlainBf16 = """
        using KernelDsl;

        namespace Demo;

        [Attention(HeadDim = 128)]
        [Precision(DType.BF16)]
        public static partial class PlainBf16Attention;
        """;

    public const string CausalFp16BottomRight = """
        using KernelDsl;

        namespace Demo;

        [Attention(HeadDim = 64)]
        [Precision(DType.FP16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
        public static partial class CausalFp16Attention;
        """;

    public const string SlidingWindowBhsdFp32Lse = """
        using KernelDsl;

        namespace Demo.Windows
        {
            [Attention(HeadDim = 64)]
            [Precision(DType.FP32)]
            [Layout(TensorLayout.BHSD)]
            [Mask(MaskKind.SlidingWindow, Left = 256, Right = 0, Alignment = MaskAlignment.TopLeft)]
            [Fusion(OutputType = DType.FP32, WriteLse = true)]
            public static partial class SlidingWindowAttention;
        }
        """;

    public const string NestedInNamespace = """
        using KernelDsl;

        namespace Demo.Models;

        public partial class TransformerLayer
        {
            internal partial struct Blocks
            {
                [Attention(HeadDim = 32)]
                private partial class SelfAttention
                {
                    public int Unrelated() => 42;
                }
            }
        }
        """;

    /// <summary>Everything else a spec can say: fp16 in, fp32 out, own scale, a value head dim, fixed tiles, no namespace.</summary>
    public const string MixedEverything = """
        using KernelDsl;

        [Attention(HeadDim = 128, ValueHeadDim = 64, Scale = 0.0625)]
        [Precision(DType.FP16)]
        [Mask(MaskKind.SlidingWindow, Left = 1024, Right = 16, Alignment = MaskAlignment.BottomRight)]
        [Tiling(BlockQ = 32, BlockKV = 128)]
        [Fusion(OutputType = DType.FP32)]
        public sealed partial class MixedAttention
        {
        }
        """;

    /// <summary>Both modifiers, each capturing a buffer (a float table and int document ids), one read (b,h)-invariant.</summary>
    public const string CapturedBuffers = """
        using System;
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.BF16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
        public static partial class BiasedDocumentAttention
        {
            [ScoreMod]
            static float Bias(float score, int h, int q, int kv, [Captured("Hq", "8")] ReadOnlySpan<float> table)
                => score + table[h * 8 + Math.Min(q - kv, 7)] * table[h * 8];

            [MaskMod]
            static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan<int> documents)
                => q < 4 ? documents[q] == documents[kv] || kv == 0 : documents[q] == documents[kv];
        }
        """;

    /// <summary>[Backward] with a learnable table read twice (two derivative terms), a local, a mask modifier and a causal band.</summary>
    public const string Trainable = """
        using System;
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.BF16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
        [Backward(Deterministic = true)]
        public static partial class TrainableAttention
        {
            [ScoreMod]
            static float Bias(float score, int h, int q, int kv, [Captured("Hq", "4", Learnable = true)] ReadOnlySpan<float> table)
            {
                float capped = 8f * MathF.Tanh(score / 8f);
                return capped + table[h * 4 + Math.Min(q - kv, 3)] * table[h * 4];
            }

            [MaskMod]
            static bool Prefix(int q, int kv) => kv < 16 || q % 5 != 0;
        }
        """;

    /// <summary>[PagedKv] + [Varlen] (issue 11): a draft-tree mask modifier over captured buffers, a softcap, causal, LSE.</summary>
    public const string ServingDraftTree = """
        using System;
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.BF16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
        [Fusion(WriteLse = true)]
        [PagedKv(MaxQueriesPerSequence = 16)]
        [Varlen]
        public static partial class DraftTree
        {
            [ScoreMod]
            static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

            [MaskMod]
            static bool Tree(int b, int q, int kv, [Captured("B")] ReadOnlySpan<int> draftStart, [Captured("B", "16", "16")] ReadOnlySpan<int> ancestors)
                => kv < draftStart[b] || ancestors[(((b * 16) + q) * 16) + kv - draftStart[b]] != 0;
        }
        """;

    /// <summary>[PagedKv] with a fixed page size and a sliding window (no modifiers, no LSE), fp32.</summary>
    public const string ServingWindowFixedPage = """
        using KernelDsl;

        [Attention(HeadDim = 32)]
        [Mask(MaskKind.SlidingWindow, Left = 100, Alignment = MaskAlignment.BottomRight)]
        [PagedKv(PageSize = 16)]
        public static partial class WindowDecode;
        """;

    /// <summary>[PagedKv] with the fused decode prologue (issue 12): half-split partial rotary with a Llama-3 base, KV append, LSE, verification.</summary>
    public const string ServingRotaryAppend = """
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.BF16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
        [Fusion(WriteLse = true, AppendKv = true, Rotary = RotaryConvention.HalfSplit, RotaryDim = 32, RotaryBase = 500000)]
        [PagedKv(MaxQueriesPerSequence = 16)]
        public static partial class RopeDecode;
        """;

    /// <summary>[PagedKv(EvictionScores = true)] (issue 12): the CPU decode's keyMass output and its second K sweep, under a sliding window with the fused append.</summary>
    public const string ServingEvictionScores = """
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.BF16)]
        [Mask(MaskKind.SlidingWindow, Left = 100, Alignment = MaskAlignment.BottomRight)]
        [Fusion(WriteLse = true, AppendKv = true)]
        [PagedKv(MaxQueriesPerSequence = 4, EvictionScores = true)]
        public static partial class EvictDecode;
        """;

    /// <summary>[Backward] on the GPU too: the preprocess, dK/dV and dQ kernels with a score modifier (a local, a captured buffer) and a causal band.</summary>
    public const string TrainableGpu = """
        using System;
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.FP16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
        [Backward(Deterministic = true)]
        public static partial class TrainableGpuAttention
        {
            [ScoreMod]
            static float Softcap(float score, int h, [Captured("Hq")] ReadOnlySpan<float> gain)
            {
                float capped = 20f * MathF.Tanh(score / 20f);
                return capped * gain[h];
            }
        }
        """;

    /// <summary>A [Backward] spec without Deterministic: the GPU backward's atomic-dQ kernels join the deterministic ones (D = 128: two warps per 16 dQ rows).</summary>
    public const string TrainableGpuAtomic = """
        using KernelDsl;

        [Attention(HeadDim = 128)]
        [Precision(DType.BF16)]
        [Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
        [Backward]
        public static partial class TrainableGpuAtomicAttention
        {
        }
        """;

    /// <summary>A [Backward] spec with a mask modifier: its GPU backward kernels take the block mask's classes and skip empty tile pairs.</summary>
    public const string TrainableGpuMasked = """
        using KernelDsl;

        [Attention(HeadDim = 64)]
        [Precision(DType.FP16)]
        [Backward]
        public static partial class TrainableGpuMaskedAttention
        {
            [MaskMod]
            static bool Keep(int q, int kv) => q >= kv && q - kv < 256;
        }
        """;
}
