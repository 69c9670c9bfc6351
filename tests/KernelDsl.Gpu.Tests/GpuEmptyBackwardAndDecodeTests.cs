using System;
using System.Linq;
using KernelDsl.Cuda;
using KernelDsl.Gpu.Tests.Backward;
using KernelDsl.Gpu.Tests.Serving;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// Empty dimensions on the device Backward and Decode, as on the CPU (README, semantics: empty dimensions). Backward: B, Sq
/// or Skv = 0 runs no kernel and zeroes dQ, dK and dV (poisoned with NaN first: every element must become 0, the
/// stream-ordered fills must cover them). Decode: a batch of no sequences, or of sequences with no queries, is a no-op; a
/// batch whose sequences all have no keys gives O = 0 and LSE = −∞ in every row (with and without KV splits).
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuEmptyBackwardAndDecodeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2, 37, 0)]
    [InlineData(0, 37, 50)]
    [InlineData(2, 0, 50)]
    [InlineData(0, 0, 0)]
    public void An_empty_backward_zeroes_every_gradient(int batch, int seqQ, int seqKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        const int headsQ = 4, headsKv = 2, dim = 64;
        using var q = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqQ, headsQ, dim);
        using var k = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqKv, headsKv, dim);
        using var v = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqKv, headsKv, dim);
        using var o = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqQ, headsQ, dim);
        using var dOut = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqQ, headsQ, dim);
        using var lse = new DeviceBuffer<float>((long)batch * headsQ * seqQ);
        using var dq = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqQ, headsQ, dim);
        using var dk = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqKv, headsKv, dim);
        using var dv = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch, seqKv, headsKv, dim);
        var random = new Random(Random.Shared.Next());
        foreach (var t in new[] { q, k, v, o, dOut })
        {
            if (t.Length > 0)
            {
                t.Upload(RandomTensors.Uniform<Half>(random, (int)t.Length));
            }
        }

        lse.Fill(-1f);
        foreach (var gradient in new[] { dq, dk, dv })
        {
            gradient.Fill(Half.NaN);
        }

        GpuBwdFp16Dense.Backward(q, k, v, o, lse, dOut, dq, dk, dv);
        var (gq, gk, gv) = (dq.ToArray(), dk.ToArray(), dv.ToArray());
        output.WriteLine($"B={batch} Sq={seqQ} Skv={seqKv}: dQ {gq.Length}, dK {gk.Length}, dV {gv.Length} elements");
        gq.ShouldAllBe(x => x == Half.Zero);
        gk.ShouldAllBe(x => x == Half.Zero);
        gv.ShouldAllBe(x => x == Half.Zero);
        (gq.Length + gk.Length + gv.Length).ShouldBe(((batch * seqQ * headsQ) + (2 * batch * seqKv * headsKv)) * dim);
    }

    [Theory]
    [InlineData(new int[0], new int[0], 1)]
    [InlineData(new[] { 5, 17 }, new[] { 0, 0 }, 1)]
    [InlineData(new[] { 0, 0, 0 }, new[] { 1, 3, 2 }, 1)]
    [InlineData(new[] { 0, 0, 0 }, new[] { 1, 3, 2 }, 8)]
    public void An_empty_decode_is_a_no_op_or_gives_zeros_and_minus_infinity(int[] lengths, int[] queries, int splits)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        const int headsQ = 8, headsKv = 2, dim = 128;
        var random = new Random(Random.Shared.Next());
        var fixture = PagedKvFixture<BFloat16>.Create(random, lengths, queries, 16, headsKv, dim, dim, PagedKvLayout.PageHeadSlot, 0, lengths.Select(_ => false).ToArray());
        var batch = fixture.Batch;
        using var cache = DevicePagedKvCache<BFloat16>.From(fixture.Cache);
        using var dbatch = batch.ToDevice(fixture.Cache.Geometry, GpuDecodeCausalBf16.Serving.MaxQueriesPerSequence);
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, batch.TotalQueries, 1, headsQ, dim);
        if (dq.Length > 0)
        {
            dq.Upload(RandomTensors.Uniform<BFloat16>(random, (int)dq.Length));
        }

        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, batch.TotalQueries, 1, headsQ, dim);
        using var dlse = new DeviceBuffer<float>((long)batch.TotalQueries * headsQ);
        dout.Fill(RandomTensors.FromFloat<BFloat16>(float.NaN));
        dlse.Fill(float.NaN);
        DecodeSplits.Forced = splits;
        try
        {
            GpuDecodeCausalBf16.Decode(dq, cache, dout, dlse, dbatch, headsQ);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        var (o, lse) = (dout.ToArray(), dlse.ToArray());
        output.WriteLine($"lengths [{string.Join(", ", lengths)}] queries [{string.Join(", ", queries)}] splits {splits}: {lse.Length} rows");
        o.Length.ShouldBe(batch.TotalQueries * headsQ * dim);
        o.ShouldAllBe(x => (float)x == 0f);
        lse.ShouldAllBe(x => float.IsNegativeInfinity(x));
    }
}
