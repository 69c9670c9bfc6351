using System;
using System.Linq;
using KernelDsl.Cuda;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// The compaction both block-mask builders share (<see cref="BlockMaskBuilder.Compact"/>: the CPU classification and
/// the GPU builder's downloaded bytes), and the argument checks of the device builder that run before any CUDA call
/// (so they are tested here, without a GPU). The GPU builder itself is compared with the CPU one in
/// tests/KernelDsl.Gpu.Tests (GpuBlockMaskBuilderTests).
/// </summary>
public sealed class BlockMaskCompactionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, 1, 100, 77, 16, 32)]
    [InlineData(2, 3, 64, 64, 16, 16)]
    [InlineData(2, 1, 1000, 777, 128, 64)]
    public void CompactingARandomClassificationEqualsBuildingItWithTheSameClassifier(int batches, int heads, int seqQ, int seqKv, int blockQ, int blockKV)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var shape = new AttentionShape(batches, seqQ, seqKv, heads, heads, 64, 64);
        int queryBlocks = (seqQ + blockQ - 1) / blockQ;
        int kvBlocks = (seqKv + blockKV - 1) / blockKV;
        var kinds = new byte[batches * heads * queryBlocks * kvBlocks];
        for (int i = 0; i < kinds.Length; i++)
        {
            kinds[i] = (byte)random.Next(3);
        }

        var built = BlockMaskBuilder.Build(shape, blockQ, blockKV, perBatch: true, perHead: true, (b, h, q0, q1, k0, k1) =>
            (BlockKind)kinds[((((b * heads) + h) * queryBlocks) + (q0 / blockQ)) * kvBlocks + (k0 / blockKV)]);
        var compacted = BlockMaskBuilder.Compact(seqQ, seqKv, blockQ, blockKV, batches, heads, kinds, perBatch: true, perHead: true);
        compacted.Counts.ToArray().ShouldBe(built.Counts.ToArray());
        compacted.Indices.ToArray().ShouldBe(built.Indices.ToArray());

        // Layout: per row the partial blocks ascending, then the full ones ascending, then -1; a full block past the last key is partial.
        bool tail = seqKv % blockKV != 0;
        for (int row = 0; row < batches * heads * queryBlocks; row++)
        {
            var rowKinds = kinds.Skip(row * kvBlocks).Take(kvBlocks).ToArray();
            var partial = Enumerable.Range(0, kvBlocks).Where(kb => rowKinds[kb] == 1 || (rowKinds[kb] == 2 && tail && kb == kvBlocks - 1)).ToArray();
            var full = Enumerable.Range(0, kvBlocks).Where(kb => rowKinds[kb] == 2 && !(tail && kb == kvBlocks - 1)).ToArray();
            compacted.Counts.Span[2 * row].ShouldBe(partial.Length);
            compacted.Counts.Span[(2 * row) + 1].ShouldBe(full.Length);
            compacted.Indices.ToArray().Skip(row * kvBlocks).Take(kvBlocks)
                .ShouldBe(partial.Concat(full).Concat(Enumerable.Repeat(-1, kvBlocks - partial.Length - full.Length)));
        }
    }

    [Fact]
    public void CompactRejectsAWrongLengthAndUnknownKinds()
    {
        Should.Throw<ArgumentException>(() => BlockMaskBuilder.Compact(100, 100, 64, 64, 1, 1, new byte[3])).ParamName.ShouldBe("kinds");
        var kinds = new byte[4];
        kinds[2] = 3;
        Should.Throw<ArgumentException>(() => BlockMaskBuilder.Compact(100, 100, 64, 64, 1, 1, kinds)).Message.ShouldContain("row 1, KV block 0 is 3");
        Should.Throw<ArgumentOutOfRangeException>(() => BlockMaskBuilder.Compact(100, 100, 0, 64, 1, 1, kinds));
        Should.Throw<ArgumentNullException>(() => BlockMaskBuilder.Compact(100, 100, 64, 64, 1, 1, null!));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(48)]
    [InlineData(100)]
    [InlineData(512)]
    [InlineData(-16)]
    public void TheDeviceBuilderTakesPowerOfTwoTilesFrom16To256Only(int size)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => BlockMaskLauncher.RequireTileSizes(size, 64)).ParamName.ShouldBe("blockQ");
        Should.Throw<ArgumentOutOfRangeException>(() => BlockMaskLauncher.RequireTileSizes(64, size)).ParamName.ShouldBe("blockKV");

        // the generated entry points check before touching the GPU
        var shape = new AttentionShape(1, 300, 300, 2, 2, 64, 64);
        Should.Throw<ArgumentOutOfRangeException>(() => PrefixLmAttention.CreateBlockMaskOnDevice(shape, size, 64)).ParamName.ShouldBe("blockQ");
        Should.Throw<ArgumentOutOfRangeException>(() => PrefixLmAttention.CreateBlockMaskOnDevice(shape, 64, size)).ParamName.ShouldBe("blockKV");
    }

    [Fact]
    public void TheDeviceBuilderAcceptsEveryKernelTileSize()
    {
        foreach (int q in new[] { 16, 32, 64, 128, 256 })
        {
            foreach (int kv in new[] { 16, 32, 64, 128, 256 })
            {
                BlockMaskLauncher.RequireTileSizes(q, kv);
            }
        }
    }

    [Fact]
    public void TheDeviceBuilderChecksShapesBuffersAndGridLimitsBeforeUsingTheGpu()
    {
        var info = new GpuBlockMaskKernelInfo("// no PTX", "none", 256, PerBatch: true, PerHead: true);
        var shape = new AttentionShape(1, 300, 300, 2, 2, 64, 64);
        Should.Throw<ArgumentException>(() => BlockMaskLauncher.Build(info, shape with { SeqQ = 0 }, 64, 64, MaskBand.None, null, null, null))
            .Message.ShouldContain("query sequence length");
        Should.Throw<ArgumentException>(() => BlockMaskLauncher.Build(info, shape with { HeadsQ = 3 }, 64, 64, MaskBand.None, null, null, null))
            .Message.ShouldContain("multiple");

        // a captured buffer of the wrong length is named
        var wrong = new CapturedDeviceBuffer("documents", new[] { "Skv" }, 0, 299);
        Should.Throw<ArgumentException>(() => BlockMaskLauncher.Build(info, shape, 64, 64, MaskBand.None, new[] { wrong }, null, null))
            .ParamName.ShouldBe("documents");

        // grid y (query blocks) and z (batch x heads of the mask) are limited to 65535
        Should.Throw<ArgumentException>(() => BlockMaskLauncher.Build(info, shape with { SeqQ = 16 * 65536, SeqKv = 16 }, 16, 16, MaskBand.None, null, null, null))
            .Message.ShouldContain("65535");
        Should.Throw<ArgumentException>(() => BlockMaskLauncher.Build(info, shape with { Batch = 1024, HeadsQ = 128, HeadsKv = 128 }, 64, 64, MaskBand.None, null, null, null))
            .Message.ShouldContain("1024 x 128");

        // the generated entry point checks its buffers for null first
        Should.Throw<ArgumentNullException>(() => DocumentMaskAttention.CreateBlockMaskOnDevice(shape, 64, 64, null!)).ParamName.ShouldBe("documents");
        Should.Throw<ArgumentNullException>(() => DocumentMaskAttention.CreateGpuBlockMaskOnDevice(shape, null!)).ParamName.ShouldBe("documents");
    }

    [Fact]
    public void WithoutAGpuValidArgumentsSayWhyTheBuilderCannotRun()
    {
        Assert.SkipWhen(Cuda.Cuda.IsAvailable, "a GPU is present: tests/KernelDsl.Gpu.Tests runs the builder");
        var shape = new AttentionShape(1, 300, 300, 2, 2, 64, 64);
        Should.Throw<CudaUnavailableException>(() => PrefixLmAttention.CreateGpuBlockMaskOnDevice(shape));
    }
}
