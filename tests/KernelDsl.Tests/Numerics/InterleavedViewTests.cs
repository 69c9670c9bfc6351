using System;
using System.Numerics.Tensors;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// q, k, v and the output as interleaved views of one packed buffer [B, S, 4, H, D] (slots 0–3): their address ranges
/// overlap but no element is shared, so the call is accepted and computes what the reference does on contiguous copies,
/// without touching the input slots; an output that shares elements with an input is rejected naming 'output'.
/// </summary>
public sealed class InterleavedViewTests(ITestOutputHelper output)
{
    private const int B = 2, S = 45, H = 3, D = 64, Slots = 4;

    private static readonly nint[] Lengths = [B, S, H, D];

    private static readonly nint[] Strides = [S * Slots * H * D, Slots * H * D, D, 1];

    [Fact]
    public void Interleaved_views_are_accepted_and_computed_correctly()
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var packed = RandomTensors.Uniform<float>(new Random(seed), B * S * Slots * H * D);
        for (int n = 0; n < packed.Length; n++)
        {
            if (n / (H * D) % Slots == 3)
            {
                packed[n] = float.NaN; // the output slot, poisoned
            }
        }

        var before = (float[])packed.Clone();
        var (q, k, v) = (Gather(packed, 0), Gather(packed, 1), Gather(packed, 2));
        Fp32BshdNoMaskD64.Forward(View(packed, 0), View(packed, 1), View(packed, 2), new TensorSpan<float>(packed.AsSpan(3 * H * D), Lengths, Strides), new TensorSpan<float>(new float[B * H * S], [B, H, S]));

        var shape = new AttentionShape(B, S, S, H, H, D, D);
        var reference = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 0.125, MaskBand.None);
        var o = Gather(packed, 3);
        double relative = ErrorMetrics.RelativeError(o, reference.Output);
        output.WriteLine($"relative error {relative:E2}");
        relative.ShouldBeLessThan(1e-5);
        for (int n = 0; n < packed.Length; n++)
        {
            if (n / (H * D) % Slots != 3)
            {
                packed[n].ShouldBe(before[n], $"input element {n} was written");
            }
        }
    }

    [Theory]
    [InlineData(2 * H * D)]      // the output is v
    [InlineData((2 * H * D) + 1)] // one element into v: shares all but one element of every row
    [InlineData(-(H * D) + 1)]    // the last element of each output row group meets the first of q's: one shared element per (b, s)
    public void An_output_sharing_elements_with_an_input_is_rejected(int offset)
    {
        var packed = new float[(B * S * Slots * H * D) + (2 * H * D)];
        int start = (H * D) + offset; // shift everything by a row so negative offsets stay inside the array
        var e = Should.Throw<ArgumentException>(() => Fp32BshdNoMaskD64.Forward(
            View(packed, 0, H * D), View(packed, 1, H * D), View(packed, 2, H * D),
            new TensorSpan<float>(packed.AsSpan(start), Lengths, Strides), new TensorSpan<float>(new float[B * H * S], [B, H, S])));
        e.ParamName.ShouldBe("output");
        e.Message.ShouldContain("overlaps");
    }

    private static ReadOnlyTensorSpan<float> View(float[] packed, int slot, int shift = 0) =>
        new(packed.AsSpan(shift + (slot * H * D)), Lengths, Strides);

    /// <summary>A contiguous [B, S, H, D] copy of one slot.</summary>
    private static float[] Gather(float[] packed, int slot)
    {
        var result = new float[B * S * H * D];
        for (int row = 0; row < B * S; row++)
        {
            packed.AsSpan((row * Slots * H * D) + (slot * H * D), H * D).CopyTo(result.AsSpan(row * H * D));
        }

        return result;
    }
}
