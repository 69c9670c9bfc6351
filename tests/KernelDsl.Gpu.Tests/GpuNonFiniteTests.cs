using System;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// Non-finite inputs on the GPU kernels, as on the CPU (NonFiniteInputTests there): a NaN in q makes its row NaN (O and
/// LSE), a NaN in k every row that keeps that key, a +∞ in k the rows whose score becomes +∞ (∞ − ∞). The PTX's
/// max.f32 drops a NaN from the running max, but exp2 of the NaN score makes l NaN, and the epilogue tests l ≠ 0
/// unordered (setp.neu), so the NaN reaches O and LSE. Not covered here, and different from the reference on the GPU: a
/// NaN in the V row of a key that a query masks but whose block the kernel visits reaches that query (P = 0 times NaN in
/// the tensor-core product; the CPU kernel skips such terms).
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuNonFiniteTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("q NaN", false)]
    [InlineData("k NaN", false)]
    [InlineData("k +inf", false)]
    [InlineData("q NaN", true)]
    [InlineData("k NaN", true)]
    [InlineData("k +inf", true)]
    public void Non_finite_q_and_k_make_exactly_the_affected_rows_NaN(string input, bool causal)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        output.WriteLine($"{input}, {(causal ? "causal" : "dense")}: seed {seed}");
        var random = new Random(seed);
        var shape = new AttentionShape(2, 150, 150, 4, 2, 64, 64);
        var q = RandomTensors.Uniform<Half>(random, 2 * 150 * 4 * 64);
        var k = RandomTensors.Uniform<Half>(random, 2 * 150 * 2 * 64);
        var v = RandomTensors.Uniform<Half>(random, 2 * 150 * 2 * 64);
        var (b, i, h, d) = (random.Next(2), 40 + random.Next(100), random.Next(4), random.Next(64));
        long kAt = ((((long)b * 150) + i) * 2 + (h / 2)) * 64 + d;
        switch (input)
        {
            case "q NaN": q[((((long)b * 150) + i) * 4 + h) * 64 + d] = (Half)float.NaN; break;
            case "k NaN": k[kAt] = (Half)float.NaN; break;
            default: k[kAt] = Half.PositiveInfinity; break;
        }

        using var dq = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 150, 4, 64);
        using var dk = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 150, 2, 64);
        using var dv = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 150, 2, 64);
        using var dout = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 150, 4, 64);
        using var dlse = new DeviceBuffer<float>(2 * 4 * 150);
        dq.Upload(q);
        dk.Upload(k);
        dv.Upload(v);
        dout.Fill((Half)12345f);
        dlse.Fill(12345f);
        if (causal)
        {
            GpuFp16BshdCausalTopLeftD64.Forward(dq, dk, dv, dout, dlse);
        }
        else
        {
            GpuFp16BshdNoMaskD64.Forward(dq, dk, dv, dout, dlse);
        }

        var o = dout.ToArray();
        var lse = dlse.ToArray();
        var band = causal ? MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, 150, 150) : MaskBand.None;
        var reference = AttentionReference.Compute<Half>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(64), band, null, null);
        int nanRows = 0;
        for (int n = 0; n < lse.Length; n++)
        {
            bool expectNaN = double.IsNaN(reference.Lse[n]);
            nanRows += expectNaN ? 1 : 0;
            float.IsNaN(lse[n]).ShouldBe(expectNaN, $"LSE {n}: {lse[n]}, reference {reference.Lse[n]}");
        }

        for (int n = 0; n < o.Length; n++)
        {
            bool expectNaN = double.IsNaN(reference.Output[n]);
            Half.IsNaN(o[n]).ShouldBe(expectNaN, $"output {n}: {o[n]}, reference {reference.Output[n]}");
        }

        output.WriteLine($"  {nanRows} NaN rows, as the reference");
        nanRows.ShouldBeGreaterThan(0, "the poisoned input reached no row: the case tests nothing");
    }
}
