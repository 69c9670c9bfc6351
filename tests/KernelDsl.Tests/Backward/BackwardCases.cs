using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Reference;

namespace KernelDsl.Tests.Backward;

/// <summary>The [Backward] specs of BackwardSpecs.cs as runnable cases, with their buffers and reference modifiers bound.</summary>
internal static class BackwardCases
{
    public static IEnumerable<string> Names => new[]
    {
        "Fp32Plain", "Bf16CausalBottomRight", "Bf16InFp32Out", "Fp16Window", "Fp32CausalTopLeftD128", "Softcap", "AlibiLearnable", "T5Learnable", "PrefixLm", "Document", "DocumentBlockMask",
    };

    private static Func<AttentionShape, MaskBand> Band(MaskKind kind, MaskAlignment alignment, int left = -1, int right = 0) =>
        shape => MaskBand.For(kind, alignment, left, right, shape.SeqQ, shape.SeqKv);

    private static readonly Func<AttentionShape, MaskBand> NoMask = _ => MaskBand.None;

    /// <summary>The case named <paramref name="name"/>; its buffers (slopes, tables, document ids) are drawn from <paramref name="random"/> per shape.</summary>
    public static object Create(string name, AttentionShape shape, Random random) => name switch
    {
        "Fp32Plain" => new BackwardCase<float>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = NoMask,
            Forward = (q, k, v, o, lse, s) => BwdFp32Plain.Forward(q, k, v, o, lse, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdFp32Plain.Backward(q, k, v, o, lse, dO, dq, dk, dv, s),
        },
        "Bf16CausalBottomRight" => new BackwardCase<BFloat16>
        {
            Name = name, Layout = TensorLayout.BHSD, Band = Band(MaskKind.Causal, MaskAlignment.BottomRight),
            Forward = (q, k, v, o, lse, s) => BwdBf16CausalBottomRight.Forward(q, k, v, o, lse, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdBf16CausalBottomRight.Backward(q, k, v, o, lse, dO, dq, dk, dv, s),
        },
        "Bf16InFp32Out" => new MixedBackwardCase(),
        "Fp16Window" => new BackwardCase<Half>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = Band(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 20, 3),
            Forward = (q, k, v, o, lse, s) => BwdFp16Window.Forward(q, k, v, o, lse, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdFp16Window.Backward(q, k, v, o, lse, dO, dq, dk, dv, s),
        },
        "Fp32CausalTopLeftD128" => new BackwardCase<float>
        {
            Name = name, Layout = TensorLayout.BHSD, Band = Band(MaskKind.Causal, MaskAlignment.TopLeft),
            Forward = (q, k, v, o, lse, s) => BwdFp32CausalTopLeftD128.Forward(q, k, v, o, lse, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdFp32CausalTopLeftD128.Backward(q, k, v, o, lse, dO, dq, dk, dv, s),
        },
        "Softcap" => new BackwardCase<float>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = NoMask,
            Forward = (q, k, v, o, lse, s) => BwdSoftcap.Forward(q, k, v, o, lse, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdSoftcap.Backward(q, k, v, o, lse, dO, dq, dk, dv, s),
            ScoreMod = BwdSoftcap.ScoreModifierReference,
            ScoreModBackward = BwdSoftcap.ScoreModifierBackwardReference,
        },
        "AlibiLearnable" => Alibi(shape, random),
        "T5Learnable" => T5(shape, random),
        "PrefixLm" => new BackwardCase<float>
        {
            Name = name, Layout = TensorLayout.BSHD, Band = NoMask,
            Forward = (q, k, v, o, lse, s) => BwdPrefixLm.Forward(q, k, v, o, lse, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdPrefixLm.Backward(q, k, v, o, lse, dO, dq, dk, dv, s),
            MaskMod = BwdPrefixLm.MaskModifierReference,
        },
        "Document" => Document(shape, random, blockMask: false),
        "DocumentBlockMask" => Document(shape, random, blockMask: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static BackwardCase<float> Alibi(AttentionShape shape, Random random)
    {
        float[] slopes = Enumerable.Range(0, shape.HeadsQ).Select(_ => (float)random.NextDouble() * 0.5f).ToArray();
        var kernel = new float[slopes.Length];
        var reference = new double[slopes.Length];
        return new BackwardCase<float>
        {
            Name = "AlibiLearnable", Layout = TensorLayout.BSHD, Band = Band(MaskKind.Causal, MaskAlignment.BottomRight),
            Forward = (q, k, v, o, lse, s) => BwdAlibiLearnable.Forward(q, k, v, o, lse, slopes, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdAlibiLearnable.Backward(q, k, v, o, lse, dO, dq, dk, dv, slopes, kernel, s),
            ScoreMod = (x, b, h, i, j) => BwdAlibiLearnable.ScoreModifierReference(x, b, h, i, j, slopes),
            ScoreModBackward = (x, b, h, i, j, g) => BwdAlibiLearnable.ScoreModifierBackwardReference(x, b, h, i, j, slopes, g, reference),
            BufferGradients = new Dictionary<string, (float[], double[])> { ["slopes"] = (kernel, reference) },
        };
    }

    private static BackwardCase<BFloat16> T5(AttentionShape shape, Random random)
    {
        float[] bias = Enumerable.Range(0, shape.HeadsQ * 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var kernel = new float[bias.Length];
        var reference = new double[bias.Length];
        return new BackwardCase<BFloat16>
        {
            Name = "T5Learnable", Layout = TensorLayout.BSHD, Band = NoMask,
            Forward = (q, k, v, o, lse, s) => BwdT5Learnable.Forward(q, k, v, o, lse, bias, s),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdT5Learnable.Backward(q, k, v, o, lse, dO, dq, dk, dv, bias, kernel, s),
            ScoreMod = (x, b, h, i, j) => BwdT5Learnable.ScoreModifierReference(x, b, h, i, j, bias),
            ScoreModBackward = (x, b, h, i, j, g) => BwdT5Learnable.ScoreModifierBackwardReference(x, b, h, i, j, bias, g, reference),
            BufferGradients = new Dictionary<string, (float[], double[])> { ["bias"] = (kernel, reference) },
        };
    }

    /// <summary>Random documents of 1–12 tokens over the keys (Sq = Skv: one packed sequence).</summary>
    public static int[] Documents(int length, Random random)
    {
        var documents = new int[length];
        int id = 0, left = random.Next(1, 13);
        for (int i = 0; i < length; i++, left--)
        {
            if (left == 0)
            {
                id++;
                left = random.Next(1, 13);
            }

            documents[i] = id;
        }

        return documents;
    }

    private static BackwardCase<float> Document(AttentionShape shape, Random random, bool blockMask)
    {
        int[] documents = Documents(shape.SeqKv, random);
        var mask = blockMask ? BwdDocument.CreateCpuBlockMask(shape, documents) : null;
        return new BackwardCase<float>
        {
            Name = blockMask ? "DocumentBlockMask" : "Document", Layout = TensorLayout.BSHD, Band = Band(MaskKind.Causal, MaskAlignment.TopLeft),
            Forward = (q, k, v, o, lse, s) => BwdDocument.Forward(q, k, v, o, lse, documents, s, mask),
            Backward = (q, k, v, o, lse, dO, dq, dk, dv, s) => BwdDocument.Backward(q, k, v, o, lse, dO, dq, dk, dv, documents, s, mask),
            MaskMod = (b, h, i, j) => BwdDocument.MaskModifierReference(b, h, i, j, documents),
        };
    }
}
