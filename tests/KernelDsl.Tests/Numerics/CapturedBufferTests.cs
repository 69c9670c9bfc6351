using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// The library specs whose modifiers read captured buffers (ALiBi slopes, a T5 bias table, document ids), on the CPU
/// against the float64 reference evaluating the same modifiers over the same buffers: fresh random inputs and buffer
/// contents (seed printed), NaN-poisoned outputs, GQA, odd sizes; plus the run-time length checks.
/// </summary>
public sealed class CapturedBufferTests(ITestOutputHelper output)
{
    /// <summary>(label, batch, Sq, Skv, Hq, Hkv). Document masking packs one sequence: Sq = Skv.</summary>
    private static readonly (string Label, int Batch, int SeqQ, int SeqKv, int HeadsQ, int HeadsKv)[] Shapes =
    [
        ("GQA odd", 2, 91, 91, 4, 2),
        ("multi-tile", 1, 333, 333, 2, 1),
        ("long", 1, 700, 700, 3, 3),
    ];

    [Theory]
    [InlineData("Alibi")]
    [InlineData("T5RelativeBias")]
    [InlineData("DocumentMask")]
    public void MatchesFloat64ReferenceWithTheSameBuffers(string name)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"{name}: seed {seed}");
        foreach (var (label, batch, seqQ, seqKv, headsQ, headsKv) in Shapes)
        {
            var shape = new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, 64, 64);
            var random = new Random(seed + seqQ);
            var spec = Case(name, shape, random, out string buffers);
            var result = spec.Run(shape, seed, 1f);
            output.WriteLine($"  {label,-10} {shape} ({buffers}): relative error {result.OutputError:E2}, LSE max error {result.LseError:E2}, {result.EmptyRows} empty rows");
            double.IsNaN(result.OutputError).ShouldBeFalse($"{label}: NaN in the output (seed {seed})");
            result.OutputError.ShouldBeLessThan(Tolerances.Output(DType.BF16, false), $"{label} (seed {seed})");
            result.LseError.ShouldBeLessThan(Tolerances.Lse(false), $"{label} LSE (seed {seed})");
            result.EmptyRowsExact.ShouldBeTrue($"{label} (seed {seed})");
        }
    }

    [Fact]
    public void TheModifierReadsTheBufferItIsGiven()
    {
        // Same inputs, two slope vectors: the outputs must differ (a kernel ignoring the buffer would give equal ones).
        var shape = new AttentionShape(1, 64, 64, 2, 2, 64, 64);
        var random = new Random(Random.Shared.Next());
        var q = RandomTensors.Uniform<BFloat16>(random, 64 * 2 * 64, 1f);
        var k = RandomTensors.Uniform<BFloat16>(random, 64 * 2 * 64, 1f);
        var v = RandomTensors.Uniform<BFloat16>(random, 64 * 2 * 64, 1f);
        var first = new BFloat16[q.Length];
        var second = new BFloat16[q.Length];
        var lse = new float[2 * 64];
        AlibiAttention.Forward(q, k, v, first, lse, [0f, 0f], shape);
        AlibiAttention.Forward(q, k, v, second, lse, [0.5f, 0.5f], shape);
        first.Zip(second).Count(pair => pair.First != pair.Second).ShouldBeGreaterThan(q.Length / 2);
    }

    [Fact]
    public void AWrongBufferLengthIsRejectedWithItsName()
    {
        var shape = new AttentionShape(1, 16, 16, 4, 2, 64, 64);
        var q = new BFloat16[16 * 4 * 64];
        var kv = new BFloat16[16 * 2 * 64];
        var o = new BFloat16[q.Length];
        var lse = new float[4 * 16];
        var error = Should.Throw<ArgumentException>(() => AlibiAttention.Forward(q, kv, kv, o, lse, new float[3], shape));
        error.ParamName.ShouldBe("slopes");
        error.Message.ShouldContain("[Hq] is [4]");

        var table = Should.Throw<ArgumentException>(() => T5RelativeBiasAttention.Forward(q, kv, kv, o, lse, new float[4 * 31], shape));
        table.ParamName.ShouldBe("bias");
        table.Message.ShouldContain("[Hq, 32] is [4, 32]");
        table.Message.ShouldContain("needs 128");
    }

    private static MatrixCase Case(string name, AttentionShape shape, Random random, out string buffers)
    {
        switch (name)
        {
            case "Alibi":
            {
                var slopes = Enumerable.Range(0, shape.HeadsQ).Select(_ => (float)(random.NextDouble() * 0.1)).ToArray();
                buffers = "random slopes in [0, 0.1)";
                return Bf16(name, MaskKind.Causal, MaskAlignment.BottomRight, (q, k, v, o, lse, s) => AlibiAttention.Forward(q, k, v, o, lse, slopes, s),
                    score: (x, b, h, qi, kv) => AlibiAttention.ScoreModifierReference(x, b, h, qi, kv, slopes));
            }

            case "T5RelativeBias":
            {
                var bias = Enumerable.Range(0, shape.HeadsQ * T5RelativeBiasAttention.Buckets).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
                buffers = "random bias table in [-2, 2)";
                return Bf16(name, MaskKind.None, MaskAlignment.Unspecified, (q, k, v, o, lse, s) => T5RelativeBiasAttention.Forward(q, k, v, o, lse, bias, s),
                    score: (x, b, h, qi, kv) => T5RelativeBiasAttention.ScoreModifierReference(x, b, h, qi, kv, bias));
            }

            case "DocumentMask":
            {
                var lengths = new System.Collections.Generic.List<int>();
                for (int left = shape.SeqKv; left > 0;)
                {
                    int length = Math.Min(left, 1 + random.Next(shape.SeqKv / 3));
                    lengths.Add(length);
                    left -= length;
                }

                var documents = DocumentMaskAttention.DocumentIds(lengths.ToArray());
                buffers = lengths.Count + " documents: " + string.Join(" ", lengths);
                return Bf16(name, MaskKind.Causal, MaskAlignment.TopLeft, (q, k, v, o, lse, s) => DocumentMaskAttention.Forward(q, k, v, o, lse, documents, s),
                    keep: (b, h, qi, kv) => DocumentMaskAttention.MaskModifierReference(b, h, qi, kv, documents));
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(name));
        }
    }

    private static MatrixCase Bf16(
        string name,
        MaskKind mask,
        MaskAlignment alignment,
        ForwardSpans<BFloat16, BFloat16> forward,
        Func<double, int, int, int, int, double>? score = null,
        Func<int, int, int, int, bool>? keep = null) =>
        new MatrixCase<BFloat16, BFloat16>(name, DType.BF16, TensorLayout.BSHD, mask, alignment, -1, mask == MaskKind.Causal ? 0 : -1, 64, 64, true, forward)
        { ScoreMod = score, MaskMod = keep };
}
