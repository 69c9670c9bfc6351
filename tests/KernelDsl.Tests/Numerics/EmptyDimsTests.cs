using System;
using System.Linq;
using System.Numerics.Tensors;
using KernelDsl.Reference;
using KernelDsl.Tests.Backward;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// Empty dimensions (README, semantics): Skv = 0 gives O = 0 and LSE = −∞ in every row (a sequence with no keys is a
/// fully masked row) and zero gradients; B = 0 or Sq = 0 is a no-op (nothing written, no error) whose backward gives
/// dK = dV = 0. Outputs are poisoned with NaN first; the float64 reference must agree with each case.
/// </summary>
public sealed class EmptyDimsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2, 37, 4, 2)]
    [InlineData(1, 1, 3, 1)]
    [InlineData(3, 130, 2, 2)]
    public void No_keys_give_zero_outputs_and_minus_infinity_lse(int batch, int seqQ, int headsQ, int headsKv)
    {
        var shape = new AttentionShape(batch, seqQ, 0, headsQ, headsKv, 64, 64);
        int seed = Random.Shared.Next();
        output.WriteLine($"{shape}: seed {seed}");
        var random = new Random(seed);
        var q = RandomTensors.Uniform<float>(random, batch * seqQ * headsQ * 64);
        var o = Poisoned<float>(q.Length);
        var lse = Poisoned<float>(batch * headsQ * seqQ);
        Fp32BshdNoMaskD64.Forward(q, [], [], o, lse, shape);
        CheckAllRowsEmpty(shape, TensorLayout.BSHD, o, lse, writesLse: true, AttentionReference.Compute<float>(q, [], [], shape, TensorLayout.BSHD, 0.125, MaskBand.None));

        // 16-bit, causal (a band over no keys), and the BHSD layout without LSE.
        var qh = RandomTensors.Uniform<Half>(random, q.Length);
        var oh = Poisoned<Half>(q.Length);
        lse = Poisoned<float>(lse.Length);
        Fp16BshdCausalTopLeftD64.Forward(qh, [], [], oh, lse, shape);
        CheckAllRowsEmpty(shape, TensorLayout.BSHD, oh, lse, writesLse: true,
            AttentionReference.Compute<Half>(qh, [], [], shape, TensorLayout.BSHD, 0.125, MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, seqQ, 0)));

        var wide = shape with { HeadDim = 96, ValueHeadDim = 48 };
        var qw = RandomTensors.Uniform<Half>(random, batch * seqQ * headsQ * 96);
        var ow = Poisoned<Half>(batch * seqQ * headsQ * 48);
        Fp16CustomScale.Forward(qw, [], [], ow, wide);
        CheckAllRowsEmpty(wide, TensorLayout.BHSD, ow, [], writesLse: false, AttentionReference.Compute<Half>(qw, [], [], wide, TensorLayout.BHSD, 0.3, MaskBand.None));
    }

    [Theory]
    [InlineData(0, 37, 50)]
    [InlineData(2, 0, 50)]
    [InlineData(0, 0, 0)]
    public void No_batch_or_no_queries_is_a_no_op(int batch, int seqQ, int seqKv)
    {
        var shape = new AttentionShape(batch, seqQ, seqKv, 4, 2, 64, 64);
        var random = new Random(seqKv + 1);
        var q = RandomTensors.Uniform<float>(random, batch * seqQ * 4 * 64);
        var k = RandomTensors.Uniform<float>(random, batch * seqKv * 2 * 64);
        var v = RandomTensors.Uniform<float>(random, k.Length);
        var o = new float[q.Length];
        var lse = new float[batch * 4 * seqQ];
        Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, shape);
        var reference = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 0.125, MaskBand.None);
        reference.Output.ShouldBeEmpty();
        reference.Lse.ShouldBeEmpty();

        // Through the tensor overload, with an empty output viewing a poisoned buffer: nothing of it is written.
        // (A TensorSpan over Span.Empty is refused by System.Numerics.Tensors, so the empty ones view arrays.)
        var poisoned = Poisoned<float>(64);
        var view = new TensorSpan<float>(poisoned, [batch, seqQ, 4, 64]);
        Fp32BshdNoMaskD64.Forward(
            new ReadOnlyTensorSpan<float>(q, [batch, seqQ, 4, 64]), new ReadOnlyTensorSpan<float>(k, [batch, seqKv, 2, 64]),
            new ReadOnlyTensorSpan<float>(v, [batch, seqKv, 2, 64]), view, new TensorSpan<float>(lse, [batch, 4, seqQ]));
        poisoned.ShouldAllBe(x => float.IsNaN(x));
    }

    /// <summary>A strided output with gaps (every other row of a buffer): its rows become 0, the gaps keep their NaN.</summary>
    [Fact]
    public void No_keys_write_only_the_rows_of_a_strided_output()
    {
        var shape = new AttentionShape(2, 9, 0, 4, 2, 64, 64);
        var q = RandomTensors.Uniform<float>(new Random(5), 2 * 9 * 4 * 64);
        var buffer = Poisoned<float>(2 * 9 * 8 * 64);
        var lse = Poisoned<float>(2 * 4 * 9);
        Fp32BshdNoMaskD64.Forward(
            new ReadOnlyTensorSpan<float>(q, [2, 9, 4, 64]), new ReadOnlyTensorSpan<float>(new float[0], [2, 0, 2, 64]), new ReadOnlyTensorSpan<float>(new float[0], [2, 0, 2, 64]),
            new TensorSpan<float>(buffer, [2, 9, 4, 64], [9 * 8 * 64, 8 * 64, 128, 1]), new TensorSpan<float>(lse, [2, 4, 9]));
        for (int n = 0; n < buffer.Length; n++)
        {
            bool row = n / 64 % 2 == 0; // heads at stride 128: the first 64 of every 128 elements
            (row ? buffer[n] == 0 : float.IsNaN(buffer[n])).ShouldBeTrue($"element {n} is {buffer[n]}");
        }

        lse.ShouldAllBe(x => float.IsNegativeInfinity(x));
    }

    [Theory]
    [InlineData(2, 23, 0)]
    [InlineData(2, 0, 31)]
    [InlineData(0, 23, 31)]
    public void Empty_backward_gives_zero_gradients(int batch, int seqQ, int seqKv)
    {
        var shape = new AttentionShape(batch, seqQ, seqKv, 4, 2, 32, 32);
        int seed = Random.Shared.Next();
        output.WriteLine($"{shape}: seed {seed}");
        var random = new Random(seed);
        var q = RandomTensors.Uniform<float>(random, batch * seqQ * 4 * 32);
        var k = RandomTensors.Uniform<float>(random, batch * seqKv * 2 * 32);
        var v = RandomTensors.Uniform<float>(random, k.Length);
        var dO = RandomTensors.Uniform<float>(random, q.Length);
        var o = Poisoned<float>(q.Length);
        var lse = Poisoned<float>(batch * 4 * seqQ);
        BwdFp32Plain.Forward(q, k, v, o, lse, shape);
        var (dq, dk, dv) = (Poisoned<float>(q.Length), Poisoned<float>(k.Length), Poisoned<float>(v.Length));
        BwdFp32Plain.Backward(q, k, v, o, lse, dO, dq, dk, dv, shape);
        var reference = AttentionReferenceBackward.Compute<float, float>(q, k, v, dO, shape, TensorLayout.BSHD, 1 / Math.Sqrt(32), MaskBand.None);
        foreach (var (kernel, expected, name) in new[] { (dq, reference.DQ, "dq"), (dk, reference.DK, "dk"), (dv, reference.DV, "dv") })
        {
            kernel.Length.ShouldBe(expected.Length, name);
            expected.ShouldAllBe(x => x == 0, name + " (reference)");
            kernel.ShouldAllBe(x => x == 0, name);
        }

        o.ShouldAllBe(x => x == 0);
        lse.ShouldAllBe(x => float.IsNegativeInfinity(x));

        // A learnable buffer's gradient (written, not accumulated) is zero too.
        var slopes = Enumerable.Range(0, 4).Select(_ => random.NextSingle()).ToArray();
        var slopeGradient = Poisoned<float>(4);
        BwdAlibiLearnable.Forward(q, k, v, o, lse, slopes, shape);
        BwdAlibiLearnable.Backward(q, k, v, o, lse, dO, dq, dk, dv, slopes, slopeGradient, shape);
        slopeGradient.ShouldAllBe(x => x == 0);
        dq.ShouldAllBe(x => x == 0);
    }

    private static T[] Poisoned<T>(int length)
        where T : unmanaged
    {
        var values = new T[length];
        values.AsSpan().Fill(RandomTensors.FromFloat<T>(float.NaN));
        return values;
    }

    private static void CheckAllRowsEmpty<T>(AttentionShape shape, TensorLayout layout, T[] o, float[] lse, bool writesLse, ReferenceResult reference)
        where T : unmanaged
    {
        reference.Lse.ShouldAllBe(x => double.IsNegativeInfinity(x), "the reference: no key, LSE = -inf");
        reference.Output.ShouldAllBe(x => x == 0, "the reference: no key, O = 0");
        var (count, exact) = EmptyRows.Check<T>(shape, layout, o, lse, writesLse, reference);
        count.ShouldBe(shape.Batch * shape.HeadsQ * shape.SeqQ);
        exact.ShouldBeTrue();
        o.ShouldAllBe(x => AttentionReference.ToDouble(x) == 0); // not NaN anywhere (EmptyRows reads every row; this reads every element)
    }
}
