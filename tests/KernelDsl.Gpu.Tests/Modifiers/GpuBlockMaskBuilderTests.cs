using System;
using System.Diagnostics;
using KernelDsl.Cuda;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

// Specs for the GPU block-mask builder: separate query and key document ids (so Sq != Skv reads in range), under a
// bottom-right causal band (rows with no key when Sq > Skv) and under a two-sided sliding window; a mask reading h only.
[Attention(HeadDim = 64)][Precision(DType.BF16)][Fusion(WriteLse = true)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class GpuCrossDocumentBf16D64
{
    [MaskMod]
    private static bool SameDocument(int q, int kv, [Captured("Sq")] ReadOnlySpan<int> queryDocuments, [Captured("Skv")] ReadOnlySpan<int> keyDocuments) =>
        queryDocuments[q] == keyDocuments[kv];
}

[Attention(HeadDim = 64)][Precision(DType.BF16)][Fusion(WriteLse = true)]
[Mask(MaskKind.SlidingWindow, Left = 100, Right = 20, Alignment = MaskAlignment.TopLeft)]
internal static partial class GpuWindowDocumentBf16D64
{
    [MaskMod]
    private static bool SameDocument(int q, int kv, [Captured("Sq")] ReadOnlySpan<int> queryDocuments, [Captured("Skv")] ReadOnlySpan<int> keyDocuments) =>
        queryDocuments[q] == keyDocuments[kv] || kv < 3;
}

[Attention(HeadDim = 64)][Precision(DType.BF16)][Fusion(WriteLse = true)]
internal static partial class GpuHeadStrideBf16D64
{
    [MaskMod] private static bool HeadStride(int h, int q, int kv) => (kv + h) % 3 != 0 || q == kv;
}

/// <summary>
/// The generated GPU block-mask builder (CreateBlockMaskOnDevice) against the CPU one (CreateBlockMask): identical
/// masks (counts and index lists, batches and heads) for random document ids, odd sizes, Sq != Skv, several tile
/// sizes, windows, b/h-dependent masks and the library's masks; then the device Forward with the GPU-built mask
/// against the float64 reference (fresh random inputs, NaN-poisoned outputs). Seeds are printed.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuBlockMaskBuilderTests(ITestOutputHelper output)
{
    private static readonly (int Q, int Kv)[] Tiles = [(16, 16), (32, 64), (64, 32), (128, 64), (64, 128), (16, 256), (256, 16), (256, 256)];

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(2, 333)]
    [InlineData(1, 4096)]
    public void DocumentMaskBuiltOnTheGpuEqualsTheCpuMask(int batch, int seq)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var lengths = RandomLengths(seq, random);
        var documents = DocumentMaskAttention.DocumentIds(lengths);
        output.WriteLine($"seed {seed}, S {seq}, documents {string.Join(" ", lengths)}");
        using var deviceDocuments = DeviceBuffer<int>.From(documents);
        var shape = new AttentionShape(batch, seq, seq, 4, 2, 64, 64);
        foreach (var (bq, bkv) in Tiles)
        {
            Expect(DocumentMaskAttention.CreateBlockMaskOnDevice(shape, bq, bkv, deviceDocuments), DocumentMaskAttention.CreateBlockMask(shape, bq, bkv, documents), $"{bq}x{bkv}");
        }

        Expect(DocumentMaskAttention.CreateGpuBlockMaskOnDevice(shape, deviceDocuments), DocumentMaskAttention.CreateGpuBlockMask(shape, documents), "the GPU kernel's tiles");
    }

    [Theory]
    [InlineData(1000, 777)]
    [InlineData(777, 1000)]
    [InlineData(65, 4099)]
    [InlineData(3000, 17)]
    public void CrossDocumentMasksWithSqUnequalSkvEqualTheCpuMask(int seqQ, int seqKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var queryDocuments = RandomIds(seqQ, random);
        var keyDocuments = RandomIds(seqKv, random);
        output.WriteLine($"seed {seed}, Sq {seqQ}, Skv {seqKv}: {queryDocuments[^1] + 1} query documents, {keyDocuments[^1] + 1} key documents");
        using var dq = DeviceBuffer<int>.From(queryDocuments);
        using var dk = DeviceBuffer<int>.From(keyDocuments);
        var shape = new AttentionShape(2, seqQ, seqKv, 2, 1, 64, 64);
        using var stream = CudaStream.Create();
        foreach (var (bq, bkv) in Tiles)
        {
            Expect(GpuCrossDocumentBf16D64.CreateBlockMaskOnDevice(shape, bq, bkv, dq, dk, stream), GpuCrossDocumentBf16D64.CreateBlockMask(shape, bq, bkv, queryDocuments, keyDocuments), $"causal bottom-right {bq}x{bkv}");
            Expect(GpuWindowDocumentBf16D64.CreateBlockMaskOnDevice(shape, bq, bkv, dq, dk), GpuWindowDocumentBf16D64.CreateBlockMask(shape, bq, bkv, queryDocuments, keyDocuments), $"window (100, 20) {bq}x{bkv}");
        }
    }

    [Theory]
    [InlineData(2, 300, 517, 4, 2)]
    [InlineData(3, 1000, 777, 2, 2)]
    public void MasksReadingBatchOrHeadEqualTheCpuMask(int batch, int seqQ, int seqKv, int headsQ, int headsKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var shape = new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, 64, 64);
        foreach (var (bq, bkv) in Tiles)
        {
            var both = GpuEmptyRowsSoftcapBf16D64.CreateBlockMaskOnDevice(shape, bq, bkv);
            (both.Batches, both.Heads).ShouldBe((batch, headsQ));
            Expect(both, GpuEmptyRowsSoftcapBf16D64.CreateBlockMask(shape, bq, bkv), $"b and h, {bq}x{bkv}");
            var head = GpuHeadStrideBf16D64.CreateBlockMaskOnDevice(shape, bq, bkv);
            (head.Batches, head.Heads).ShouldBe((1, headsQ));
            Expect(head, GpuHeadStrideBf16D64.CreateBlockMask(shape, bq, bkv), $"h only, {bq}x{bkv}");
        }
    }

    [Fact]
    public void LibraryMasksBuiltOnTheGpuEqualTheCpuMasks()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        foreach (var shape in new[] { new AttentionShape(1, 333, 333, 2, 2, 64, 64), new AttentionShape(1, 1000, 777, 2, 1, 64, 64) })
        {
            foreach (var (bq, bkv) in Tiles)
            {
                Expect(PrefixLmAttention.CreateBlockMaskOnDevice(shape, bq, bkv), PrefixLmAttention.CreateBlockMask(shape, bq, bkv), $"PrefixLm {shape} {bq}x{bkv}");
                Expect(SlidingWindowGlobalAttention.CreateBlockMaskOnDevice(shape, bq, bkv), SlidingWindowGlobalAttention.CreateBlockMask(shape, bq, bkv), $"SlidingWindowGlobal {shape} {bq}x{bkv}");
                Expect(StridedSparseAttention.CreateBlockMaskOnDevice(shape, bq, bkv), StridedSparseAttention.CreateBlockMask(shape, bq, bkv), $"StridedSparse {shape} {bq}x{bkv}");
            }
        }
    }

    [Theory]
    [InlineData(1, 1000, 4, 2)]
    [InlineData(2, 4096, 2, 1)]
    public void DeviceForwardWithTheGpuBuiltDocumentMaskMatchesTheReference(int batch, int seq, int headsQ, int headsKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var lengths = RandomLengths(seq, random);
        var documents = DocumentMaskAttention.DocumentIds(lengths);
        var shape = new AttentionShape(batch, seq, seq, headsQ, headsKv, 64, 64);
        using var deviceDocuments = DeviceBuffer<int>.From(documents);
        var mask = DocumentMaskAttention.CreateGpuBlockMaskOnDevice(shape, deviceDocuments);
        output.WriteLine($"seed {seed}, {shape}, documents {string.Join(" ", lengths)}: block density {mask.Density:F3} ({mask.PartialBlocks} partial, {mask.FullBlocks} full)");
        using var deviceMask = mask.ToDevice();
        DeviceRun.CompareBothWays(output, shape, random, DocumentMaskAttention.Plan.Parameters.BandFor(shape), null,
            (b, h, q, kv) => DocumentMaskAttention.MaskModifierReference(b, h, q, kv, documents),
            (q, k, v, o, lse, withMask) => DocumentMaskAttention.Forward(q, k, v, o, lse, deviceDocuments, blockMask: deviceMask), [true]);
    }

    [Theory]
    [InlineData(1000, 777)]
    [InlineData(777, 1000)]
    public void DeviceForwardWithAGpuBuiltCrossDocumentMaskMatchesTheReference(int seqQ, int seqKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var queryDocuments = RandomIds(seqQ, random);
        var keyDocuments = RandomIds(seqKv, random);
        var shape = new AttentionShape(2, seqQ, seqKv, 4, 2, 64, 64);
        using var dq = DeviceBuffer<int>.From(queryDocuments);
        using var dk = DeviceBuffer<int>.From(keyDocuments);
        var causal = GpuCrossDocumentBf16D64.CreateGpuBlockMaskOnDevice(shape, dq, dk);
        var window = GpuWindowDocumentBf16D64.CreateGpuBlockMaskOnDevice(shape, dq, dk);
        output.WriteLine($"seed {seed}, {shape}: causal density {causal.Density:F3}, window density {window.Density:F3}");
        using var causalMask = causal.ToDevice();
        using var windowMask = window.ToDevice();
        output.WriteLine(" causal bottom-right:");
        DeviceRun.CompareBothWays(output, shape, random, GpuCrossDocumentBf16D64.Plan.Parameters.BandFor(shape), null,
            (b, h, q, kv) => GpuCrossDocumentBf16D64.MaskModifierReference(b, h, q, kv, queryDocuments, keyDocuments),
            (q, k, v, o, lse, withMask) => GpuCrossDocumentBf16D64.Forward(q, k, v, o, lse, dq, dk, blockMask: causalMask), [true]);
        output.WriteLine(" window (100, 20), top-left:");
        DeviceRun.CompareBothWays(output, shape, random, GpuWindowDocumentBf16D64.Plan.Parameters.BandFor(shape), null,
            (b, h, q, kv) => GpuWindowDocumentBf16D64.MaskModifierReference(b, h, q, kv, queryDocuments, keyDocuments),
            (q, k, v, o, lse, withMask) => GpuWindowDocumentBf16D64.Forward(q, k, v, o, lse, dq, dk, blockMask: windowMask), [true]);
    }

    [Fact]
    public void DeviceForwardWithAGpuBuiltBatchAndHeadMaskMatchesTheReference()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var shape = new AttentionShape(2, 300, 517, 4, 2, 64, 64);
        using var deviceMask = GpuEmptyRowsSoftcapBf16D64.CreateGpuBlockMaskOnDevice(shape).ToDevice();
        DeviceRun.CompareBothWays(output, shape, new Random(seed), GpuEmptyRowsSoftcapBf16D64.Plan.Parameters.BandFor(shape),
            GpuEmptyRowsSoftcapBf16D64.ScoreModifierReference, GpuEmptyRowsSoftcapBf16D64.MaskModifierReference,
            (q, k, v, o, lse, withMask) => GpuEmptyRowsSoftcapBf16D64.Forward(q, k, v, o, lse, blockMask: deviceMask), [true]);
    }

    /// <summary>
    /// S = 16384 document mask at the GPU kernel's tiles: the masks are equal, and the times of both builders are printed
    /// (the README's prediction: about 1 ms on the GPU, 170-340 ms on 16 CPU cores). Not a benchmark: one warm run each.
    /// </summary>
    [Fact]
    public void AtS16384TheGpuBuilderEqualsTheCpuBuilderAndPrintsBothTimes()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        const int seq = 16384;
        var lengths = RandomLengths(seq, random);
        var documents = DocumentMaskAttention.DocumentIds(lengths);
        var shape = new AttentionShape(1, seq, seq, 16, 16, 64, 64);
        using var deviceDocuments = DeviceBuffer<int>.From(documents);
        DocumentMaskAttention.CreateGpuBlockMaskOnDevice(shape, deviceDocuments); // JIT and module load
        var clock = Stopwatch.StartNew();
        var gpu = DocumentMaskAttention.CreateGpuBlockMaskOnDevice(shape, deviceDocuments);
        double gpuMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var cpu = DocumentMaskAttention.CreateGpuBlockMask(shape, documents);
        double cpuMs = clock.Elapsed.TotalMilliseconds;
        output.WriteLine($"seed {seed}, {lengths.Length} documents, density {cpu.Density:F4}: GPU builder {gpuMs:F2} ms (launch + download + compaction), CPU builder {cpuMs:F1} ms on {Environment.ProcessorCount} cores");
        Expect(gpu, cpu, "S = 16384");
    }

    private static void Expect(BlockMask gpu, BlockMask cpu, string what)
    {
        (gpu.SeqQ, gpu.SeqKv, gpu.BlockQ, gpu.BlockKV, gpu.Batches, gpu.Heads).ShouldBe((cpu.SeqQ, cpu.SeqKv, cpu.BlockQ, cpu.BlockKV, cpu.Batches, cpu.Heads), what);
        gpu.Counts.ToArray().ShouldBe(cpu.Counts.ToArray(), what + ": counts");
        gpu.Indices.ToArray().ShouldBe(cpu.Indices.ToArray(), what + ": indices");
    }

    private static int[] RandomLengths(int total, Random random)
    {
        var lengths = new System.Collections.Generic.List<int>();
        for (int left = total; left > 0;)
        {
            int length = Math.Min(left, 1 + random.Next(Math.Max(1, total / 3)));
            lengths.Add(length);
            left -= length;
        }

        return lengths.ToArray();
    }

    /// <summary>Non-decreasing document ids starting at 0, a new document with probability ~1/60 per token.</summary>
    private static int[] RandomIds(int length, Random random)
    {
        var ids = new int[length];
        for (int i = 1; i < length; i++)
        {
            ids[i] = ids[i - 1] + (random.Next(60) == 0 ? 1 : 0);
        }

        return ids;
    }
}
