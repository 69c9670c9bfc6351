using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>A bias table of 17 columns per head, indexed by the key: calls with more than 17 keys index past it.</summary>
[Attention(HeadDim = 32)]
[Backward]
public static partial class SeventeenColumnBias
{
    [ScoreMod]
    private static float Bias(float score, int h, int kv, [Captured("Hq", "17", Learnable = true)] ReadOnlySpan<float> bias) => score + bias[(h * 17) + kv];
}

/// <summary>
/// A modifier index outside its captured buffer never reads foreign memory on the CPU: every read (and every buffer
/// gradient write of the backward) is bounds-checked, and an index outside throws an ArgumentException naming the buffer
/// — from Forward, Backward and the block-mask builder alike. The float64 reference refuses the same calls (its spans
/// throw IndexOutOfRangeException). In range, the checked kernels still match the reference.
/// </summary>
public sealed class CapturedIndexTests(ITestOutputHelper output)
{
    [Fact]
    public void In_range_indices_match_the_reference()
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var shape = new AttentionShape(2, 23, 17, 2, 1, 32, 32);
        var (q, k, v) = Inputs(random, shape);
        var bias = Enumerable.Range(0, 2 * 17).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var o = Enumerable.Repeat(float.NaN, q.Length).ToArray();
        var lse = new float[2 * 2 * 23];
        SeventeenColumnBias.Forward(q, k, v, o, lse, bias, shape);
        var reference = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(32), MaskBand.None,
            (s, b, h, i, j) => SeventeenColumnBias.ScoreModifierReference(s, b, h, i, j, bias), null);
        double error = ErrorMetrics.RelativeError<float>(o, reference.Output);
        output.WriteLine($"relative error {error:E2}");
        error.ShouldBeLessThan(1e-5);
    }

    [Fact]
    public void A_score_modifier_index_past_its_buffer_throws_naming_the_buffer()
    {
        var random = new Random(7);
        var shape = new AttentionShape(1, 9, 20, 2, 1, 32, 32); // head 1, keys 17-19: bias[34..36] of 34
        var (q, k, v) = Inputs(random, shape);
        var bias = new float[2 * 17];
        var o = new float[q.Length];
        var lse = new float[2 * 9];
        var error = Should.Throw<ArgumentException>(() => SeventeenColumnBias.Forward(q, k, v, o, lse, bias, shape));
        error.ParamName.ShouldBe("bias");
        error.Message.ShouldContain("outside its 34 elements");
        Should.Throw<IndexOutOfRangeException>(() => AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(32), MaskBand.None,
            (s, b, h, i, j) => SeventeenColumnBias.ScoreModifierReference(s, b, h, i, j, bias), null));

        // The backward recomputes the scores (and would add into bias's gradient at the same index): it refuses too.
        var dO = RandomTensors.Uniform<float>(random, q.Length);
        var backward = Should.Throw<ArgumentException>(() => SeventeenColumnBias.Backward(q, k, v, o, lse, dO, new float[q.Length], new float[k.Length], new float[v.Length], bias, new float[bias.Length], shape));
        backward.ParamName.ShouldBe("bias");
    }

    [Fact]
    public void A_mask_modifier_index_past_its_buffer_throws_naming_the_buffer()
    {
        // documents[q] with [Captured("Skv")]: a call with more queries than keys indexes past the document ids.
        var shape = new AttentionShape(1, 50, 40, 2, 2, 64, 64);
        var q = RandomTensors.Uniform<BFloat16>(new Random(3), 50 * 2 * 64);
        var kv = RandomTensors.Uniform<BFloat16>(new Random(4), 40 * 2 * 64);
        var documents = new int[40];
        var error = Should.Throw<ArgumentException>(() => DocumentMaskAttention.Forward(q, kv, kv, new BFloat16[q.Length], new float[2 * 50], documents, shape));
        error.ParamName.ShouldBe("documents");
        // The builder (small tiles, so a block of rows past the keys is classified element by element) refuses too, with
        // the kernel's exception, not an AggregateException from its parallel loop.
        Should.Throw<ArgumentException>(() => DocumentMaskAttention.CreateBlockMask(shape, 16, 16, documents)).ParamName.ShouldBe("documents");
    }

    private static (float[] Q, float[] K, float[] V) Inputs(Random random, AttentionShape shape) =>
        (RandomTensors.Uniform<float>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * 32),
         RandomTensors.Uniform<float>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * 32),
         RandomTensors.Uniform<float>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * 32));
}
