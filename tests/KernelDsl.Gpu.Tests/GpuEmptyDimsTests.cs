using System;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// Empty dimensions on the device Forward, as on the CPU (EmptyDimsTests there): Skv = 0 gives O = 0 and LSE = −∞ (driver
/// fills, no kernel), including a strided output whose gaps must keep their poison; B = 0 or Sq = 0 is a no-op.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuEmptyDimsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void No_keys_give_zero_outputs_and_minus_infinity_lse(bool causal)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var shape = new AttentionShape(2, 37, 0, 4, 2, 64, 64);
        var q = RandomTensors.Uniform<Half>(new Random(seed), 2 * 37 * 4 * 64);
        using var dq = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 37, 4, 64);
        using var dk = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 0, 2, 64);
        using var dv = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 0, 2, 64);
        using var dout = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 37, 4, 64);
        using var dlse = new DeviceBuffer<float>(2 * 4 * 37);
        dq.Upload(q);
        dout.Fill(Half.NaN);
        dlse.Fill(float.NaN);
        Forward(causal, dq, dk, dv, dout, dlse);

        var reference = AttentionReference.Compute<Half>(q, [], [], shape, TensorLayout.BSHD, 0.125, MaskBand.None);
        var (count, exact) = EmptyRows.Check<Half>(shape, TensorLayout.BSHD, dout.ToArray(), dlse.ToArray(), true, reference);
        count.ShouldBe(2 * 4 * 37);
        exact.ShouldBeTrue();
        dout.ToArray().ShouldAllBe(x => x == Half.Zero);
    }

    /// <summary>O as every other head of a [2, 37, 8, 64] buffer: its rows become 0, the other heads keep their NaN.</summary>
    [Fact]
    public void No_keys_fill_only_the_rows_of_a_strided_output()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        using var dq = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 37, 4, 64);
        dq.Upload(RandomTensors.Uniform<Half>(new Random(1), 2 * 37 * 4 * 64));
        using var dk = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 0, 2, 64);
        using var dv = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 0, 2, 64);
        using var owner = new DeviceBuffer<Half>(2 * 37 * 8 * 64);
        owner.Fill(Half.NaN);
        using var dout = DeviceTensor<Half>.Wrap(owner.DevicePointer, TensorLayout.BSHD, [2, 37, 4, 64], [37 * 8 * 64, 8 * 64, 128, 1]);
        using var dlse = new DeviceBuffer<float>(2 * 4 * 37);
        GpuFp16BshdNoMaskD64.Forward(dq, dk, dv, dout, dlse);
        var all = owner.ToArray();
        for (int n = 0; n < all.Length; n++)
        {
            bool row = n / 64 % 2 == 0;
            (row ? all[n] == Half.Zero : Half.IsNaN(all[n])).ShouldBeTrue($"element {n} is {all[n]}");
        }

        dlse.ToArray().ShouldAllBe(x => float.IsNegativeInfinity(x));
    }

    [Theory]
    [InlineData(0, 37, 50)]
    [InlineData(2, 0, 50)]
    [InlineData(0, 0, 0)]
    public void No_batch_or_no_queries_is_a_no_op(int batch, int seqQ, int seqKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        using var dq = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqQ, 4, 64);
        using var dk = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqKv, 2, 64);
        using var dv = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqKv, 2, 64);
        dk.Upload(RandomTensors.Uniform<Half>(new Random(2), (int)dk.Length));
        dv.Upload(RandomTensors.Uniform<Half>(new Random(3), (int)dv.Length));
        using var dout = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqQ, 4, 64);
        using var dlse = new DeviceBuffer<float>(batch * 4 * seqQ);
        GpuFp16BshdCausalTopLeftD64.Forward(dq, dk, dv, dout, dlse);
        Cuda.Cuda.DefaultContext.Synchronize();
        dout.ToArray().ShouldBeEmpty();
        dlse.ToArray().ShouldBeEmpty();
    }

    private static void Forward(bool causal, DeviceTensor<Half> q, DeviceTensor<Half> k, DeviceTensor<Half> v, DeviceTensor<Half> o, DeviceBuffer<float> lse)
    {
        if (causal)
        {
            GpuFp16BshdCausalTopLeftD64.Forward(q, k, v, o, lse);
        }
        else
        {
            GpuFp16BshdNoMaskD64.Forward(q, k, v, o, lse);
        }
    }
}
