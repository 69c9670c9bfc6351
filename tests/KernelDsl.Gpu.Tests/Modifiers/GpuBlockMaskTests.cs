using System;
using KernelDsl.Cuda;
using KernelDsl.Reference;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// The device Forward of mask-modifier specs with a block mask (CreateGpuBlockMask(...).ToDevice()): the kernel
/// visits only the listed blocks and skips the element mask on full ones; the output must still equal the float64
/// reference (fresh random inputs, NaN-poisoned outputs), as must the run without a block mask. Documents, a
/// b/h-dependent mask with empty rows, and a mask built for another shape (rejected).
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuBlockMaskTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, 1000, 4, 2)]
    [InlineData(2, 333, 3, 3)]
    [InlineData(1, 4096, 2, 1)]
    public void DocumentMaskWithAndWithoutBlockMaskMatchesTheReference(int batch, int seq, int headsQ, int headsKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var lengths = new System.Collections.Generic.List<int>();
        for (int left = seq; left > 0;)
        {
            int length = Math.Min(left, 1 + random.Next(seq / 3));
            lengths.Add(length);
            left -= length;
        }

        var documents = DocumentMaskAttention.DocumentIds(lengths.ToArray());
        var shape = new AttentionShape(batch, seq, seq, headsQ, headsKv, 64, 64);
        var mask = DocumentMaskAttention.CreateGpuBlockMask(shape, documents);
        output.WriteLine($"seed {seed}, {shape}, documents {string.Join(" ", lengths)}: block density {mask.Density:F3} ({mask.PartialBlocks} partial, {mask.FullBlocks} full)");
        using var deviceDocuments = DeviceBuffer<int>.From(documents);
        using var deviceMask = mask.ToDevice();
        var band = DocumentMaskAttention.Plan.Parameters.BandFor(shape);
        Run(shape, random, band, null, (b, h, q, kv) => DocumentMaskAttention.MaskModifierReference(b, h, q, kv, documents),
            (q, k, v, o, lse, withMask) => DocumentMaskAttention.Forward(q, k, v, o, lse, deviceDocuments, blockMask: withMask ? deviceMask : null));
    }

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(2, 4096)]
    public void DocumentMaskAtHeadDim128WithTheOverlappedLoopMatchesTheReference(int batch, int seq)
    {
        // D = 128 kernels use the overlapped main loop (S of the next listed tile computed during this tile's softmax).
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var lengths = new System.Collections.Generic.List<int>();
        for (int left = seq; left > 0;)
        {
            int length = Math.Min(left, 1 + random.Next(seq / 3));
            lengths.Add(length);
            left -= length;
        }

        var documents = DocumentMaskAttention.DocumentIds(lengths.ToArray());
        var shape = new AttentionShape(batch, seq, seq, 4, 2, 128, 128);
        var mask = GpuDocumentBf16D128.CreateGpuBlockMask(shape, documents);
        output.WriteLine($"seed {seed}, {shape}, documents {string.Join(" ", lengths)}: block density {mask.Density:F3} ({mask.PartialBlocks} partial, {mask.FullBlocks} full)");
        using var deviceDocuments = DeviceBuffer<int>.From(documents);
        using var deviceMask = mask.ToDevice();
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, -1, 0, seq, seq);
        Run(shape, random, band, null, (b, h, q, kv) => GpuDocumentBf16D128.MaskModifierReference(b, h, q, kv, documents),
            (q, k, v, o, lse, withMask) => GpuDocumentBf16D128.Forward(q, k, v, o, lse, deviceDocuments, blockMask: withMask ? deviceMask : null));
    }

    [Fact]
    public void MaskReadingBatchAndHeadWithEmptyRowsMatchesTheReference()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var shape = new AttentionShape(2, 300, 517, 4, 2, 64, 64);
        var mask = GpuEmptyRowsSoftcapBf16D64.CreateGpuBlockMask(shape);
        (mask.Batches, mask.Heads).ShouldBe((2, 4));
        using var deviceMask = mask.ToDevice();
        var random = new Random(Random.Shared.Next());
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, shape.SeqQ, shape.SeqKv);
        Run(shape, random, band, GpuEmptyRowsSoftcapBf16D64.ScoreModifierReference, GpuEmptyRowsSoftcapBf16D64.MaskModifierReference,
            (q, k, v, o, lse, withMask) => GpuEmptyRowsSoftcapBf16D64.Forward(q, k, v, o, lse, blockMask: withMask ? deviceMask : null));
    }

    [Fact]
    public void AMaskForAnotherShapeIsRejected()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var documents = DocumentMaskAttention.DocumentIds([100, 100]);
        using var deviceMask = DocumentMaskAttention.CreateGpuBlockMask(new AttentionShape(1, 200, 200, 1, 1, 64, 64), documents).ToDevice();
        using var q = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 256, 1, 64);
        using var o = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 256, 1, 64);
        using var lse = new DeviceBuffer<float>(256);
        using var deviceDocuments = DeviceBuffer<int>.From(DocumentMaskAttention.DocumentIds([128, 128]));
        Should.Throw<ArgumentException>(() => DocumentMaskAttention.Forward(q, q, q, o, lse, deviceDocuments, blockMask: deviceMask))
            .ParamName.ShouldBe("blockMask");
    }

    private void Run(AttentionShape shape, Random random, MaskBand band, Func<double, int, int, int, int, double>? scoreMod, Func<int, int, int, int, bool> maskMod, DeviceRun.Forward forward) =>
        DeviceRun.CompareBothWays(output, shape, random, band, scoreMod, maskMod, forward, new[] { true, false });
}

/// <summary>Runs a bf16 BSHD spec (LSE written, head dim from the shape) on the device and checks it against the float64 reference.</summary>
internal static class DeviceRun
{
    public delegate void Forward(DeviceTensor<BFloat16> q, DeviceTensor<BFloat16> k, DeviceTensor<BFloat16> v, DeviceTensor<BFloat16> o, DeviceBuffer<float> lse, bool withBlockMask);

    public static void CompareBothWays(ITestOutputHelper output, AttentionShape shape, Random random, MaskBand band, Func<double, int, int, int, int, double>? scoreMod, Func<int, int, int, int, bool>? maskMod, Forward forward, bool[] modes)
    {
        var q = RandomTensors.Uniform<BFloat16>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, 1f);
        var k = RandomTensors.Uniform<BFloat16>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, 1f);
        var v = RandomTensors.Uniform<BFloat16>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, 1f);
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        using var dk = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        using var dv = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        using var dlse = new DeviceBuffer<float>((long)shape.Batch * shape.HeadsQ * shape.SeqQ);
        dq.Upload(q);
        dk.Upload(k);
        dv.Upload(v);
        var reference = AttentionReference.Compute<BFloat16>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(shape.HeadDim), band, scoreMod, maskMod);
        foreach (bool withMask in modes)
        {
            dout.Fill((BFloat16)float.NaN);
            dlse.Fill(float.NaN);
            forward(dq, dk, dv, dout, dlse, withMask);
            var result = dout.ToArray();
            var lse = dlse.ToArray();
            double error = ErrorMetrics.RelativeError<BFloat16>(result, reference.Output);
            double lseError = ErrorMetrics.MaxLseError(lse, reference.Lse);
            var (emptyRows, exact) = EmptyRows.Check<BFloat16>(shape, TensorLayout.BSHD, result, lse, true, reference);
            output.WriteLine($"  {(withMask ? "with" : "without")} block mask: relative error {error:E2}, LSE max error {lseError:E2}, {emptyRows} empty rows");
            double.IsNaN(error).ShouldBeFalse();
            error.ShouldBeLessThan(GpuTolerances.Output(true));
            lseError.ShouldBeLessThan(GpuTolerances.Lse(scoreMod is null ? 1f : 8f));
            exact.ShouldBeTrue("rows with no kept key must be exactly 0 with LSE −∞");
        }
    }
}
