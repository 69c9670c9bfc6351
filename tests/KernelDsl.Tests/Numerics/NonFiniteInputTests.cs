using System;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// Non-finite inputs propagate as in the float64 reference (and PyTorch): a NaN in q makes its row NaN, a NaN in k every
/// row that keeps that key, a NaN in v that column of every row that keeps the key (not the rows that mask it, even in a
/// block the kernel visits), a +∞ score its row NaN (∞ − ∞), a −∞ score drops its key. The comparison is element by
/// element: NaN exactly where the reference has NaN, ±∞ where it has ±∞, and the finite rest within tolerance. Outputs
/// are poisoned with a value that is neither (12345) so an unwritten element fails.
/// </summary>
public sealed class NonFiniteInputTests(ITestOutputHelper output)
{
    private const float Poison = 12345f;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string spec in new[] { "Fp32Dense", "Fp32Causal", "Fp16Causal", "Fp32PrefixLm" })
        {
            foreach (string input in new[] { "q NaN", "k NaN", "v NaN", "k +inf", "v -inf" })
            {
                data.Add(spec, input);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Non_finite_inputs_make_exactly_the_affected_outputs_non_finite(string spec, string input)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"{spec}, {input}: seed {seed}");
        var random = new Random(seed);
        var shape = new AttentionShape(2, 150, 150, 4, 2, 64, 64);
        var (b, i, h, d) = (random.Next(2), 40 + random.Next(100), random.Next(4), random.Next(64));
        switch (spec)
        {
            case "Fp32Dense":
                Check<float>(shape, random, input, (b, i, h, d), (q, k, v, o, lse) => Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, shape), MaskBand.None, null);
                break;
            case "Fp32Causal":
                Check<float>(shape, random, input, (b, i, h, d), (q, k, v, o, lse) => Fp32BshdCausalTopLeftD64.Forward(q, k, v, o, lse, shape),
                    MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, shape.SeqQ, shape.SeqKv), null);
                break;
            case "Fp16Causal":
                Check<Half>(shape, random, input, (b, i, h, d), (q, k, v, o, lse) => Fp16BshdCausalTopLeftD64.Forward(q, k, v, o, lse, shape),
                    MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, shape.SeqQ, shape.SeqKv), null);
                break;
            default:
                Check<float>(shape, random, input, (b, i, h, d), (q, k, v, o, lse) => PrefixLmFp32.Forward(q, k, v, o, lse, shape), MaskBand.None, PrefixLmFp32.MaskModifierReference);
                break;
        }
    }

    /// <summary>Scores beyond the fp32 range: every q·k of positive inputs near 1e20 is 1e40 in fp32 arithmetic, +∞, so every row is NaN (not finite garbage).</summary>
    [Fact]
    public void Scores_past_the_fp32_range_make_their_rows_NaN()
    {
        var shape = new AttentionShape(1, 40, 40, 2, 2, 64, 64);
        var random = new Random(3);
        float[] q = Positive(random, 40 * 2 * 64, 1e20f), k = Positive(random, 40 * 2 * 64, 1e20f), v = Positive(random, 40 * 2 * 64, 1f);
        var o = new float[q.Length];
        var lse = new float[2 * 40];
        Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, shape);
        o.ShouldAllBe(x => float.IsNaN(x));
        lse.ShouldAllBe(x => float.IsNaN(x));
    }

    private static float[] Positive(Random random, int count, float magnitude)
    {
        var values = new float[count];
        for (int n = 0; n < count; n++)
        {
            values[n] = magnitude * (0.5f + (0.5f * random.NextSingle()));
        }

        return values;
    }

    private delegate void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, Span<T> o, Span<float> lse);

    private void Check<T>(AttentionShape shape, Random random, string input, (int B, int I, int H, int D) at, Forward<T> forward, MaskBand band, Func<int, int, int, int, bool>? keep)
        where T : unmanaged
    {
        var q = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim);
        var k = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim);
        var v = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim);
        int kvHead = at.H / shape.GroupSize;
        long KvAt(int d) => ((((long)at.B * shape.SeqKv) + at.I) * shape.HeadsKv + kvHead) * shape.HeadDim + d;
        switch (input)
        {
            case "q NaN": q[((((long)at.B * shape.SeqQ) + at.I) * shape.HeadsQ + at.H) * shape.HeadDim + at.D] = RandomTensors.FromFloat<T>(float.NaN); break;
            case "k NaN": k[KvAt(at.D)] = RandomTensors.FromFloat<T>(float.NaN); break;
            case "v NaN": v[KvAt(at.D)] = RandomTensors.FromFloat<T>(float.NaN); break;
            case "k +inf": k[KvAt(at.D)] = RandomTensors.FromFloat<T>(float.PositiveInfinity); break;
            default: v[KvAt(at.D)] = RandomTensors.FromFloat<T>(float.NegativeInfinity); break;
        }

        var o = new T[q.Length];
        o.AsSpan().Fill(RandomTensors.FromFloat<T>(Poison));
        var lse = new float[shape.Batch * shape.HeadsQ * shape.SeqQ];
        lse.AsSpan().Fill(Poison);
        forward(q, k, v, o, lse);
        var reference = AttentionReference.Compute<T>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(shape.HeadDim), band, null, keep);

        int nonFinite = 0;
        double errorSquares = 0, referenceSquares = 0;
        for (int n = 0; n < o.Length; n++)
        {
            double actual = AttentionReference.ToDouble(o[n]), expected = reference.Output[n];
            if (!double.IsFinite(expected))
            {
                nonFinite++;
                // fp16 saturates a large finite value to ±∞, never the reverse; compare classes: NaN, +∞, −∞.
                (double.IsNaN(actual) ? "NaN" : actual.ToString()).ShouldBe(double.IsNaN(expected) ? "NaN" : expected.ToString(), $"output element {n} ({input})");
                continue;
            }

            double.IsFinite(actual).ShouldBeTrue($"output element {n} is {actual}, the reference {expected} ({input})");
            errorSquares += (actual - expected) * (actual - expected);
            referenceSquares += expected * expected;
        }

        for (int n = 0; n < lse.Length; n++)
        {
            double expected = reference.Lse[n];
            if (double.IsNaN(expected))
            {
                float.IsNaN(lse[n]).ShouldBeTrue($"LSE {n} is {lse[n]}, the reference NaN ({input})");
            }
            else
            {
                float.IsNaN(lse[n]).ShouldBeFalse($"LSE {n} is NaN, the reference {expected} ({input})");
                Math.Abs(lse[n] - expected).ShouldBeLessThan(1e-3, $"LSE {n} ({input})");
            }
        }

        double relative = Math.Sqrt(errorSquares / referenceSquares);
        output.WriteLine($"  {nonFinite} non-finite output elements (as the reference), finite rest: relative error {relative:E2}");
        nonFinite.ShouldBeGreaterThan(0, "the poisoned input reached no output: the case tests nothing");
        relative.ShouldBeLessThan(typeof(T) == typeof(float) ? 1e-5 : 1e-2);
    }
}
