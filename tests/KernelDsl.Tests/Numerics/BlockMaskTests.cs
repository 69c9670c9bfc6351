using System;
using System.Linq;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// The generated CreateBlockMask against a brute-force classification (every element of every block pair, from the
/// float64 MaskModifierReference and the band): exact equality of both lists, so a block marked empty never holds a
/// kept pair and a block marked full holds only kept pairs; random document layouts, odd sizes, Sq ≠ Skv, several
/// tile sizes; sharing across batches and heads; the plan-facing statistics; mismatched masks rejected.
/// </summary>
public sealed class BlockMaskTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(77, 77, 16, 16)]
    [InlineData(300, 300, 64, 32)]
    [InlineData(129, 129, 128, 64)]
    public void DocumentMaskBlocksEqualBruteForce(int seqQ, int seqKv, int blockQ, int blockKV)
    {
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var lengths = RandomLengths(seqKv, random);
        var documents = DocumentMaskAttention.DocumentIds(lengths);
        var shape = new AttentionShape(2, seqQ, seqKv, 3, 3, 64, 64);
        var mask = DocumentMaskAttention.CreateBlockMask(shape, blockQ, blockKV, documents);
        output.WriteLine($"seed {seed}, documents {string.Join(" ", lengths)}: density {mask.Density:F3}");

        (mask.Batches, mask.Heads).ShouldBe((1, 1), "the document mask reads neither b nor h: one mask serves all");
        var band = DocumentMaskAttention.Plan.Parameters.BandFor(shape);
        ExpectBruteForce(mask, shape, (b, h, q, kv) => band.Keeps(q, kv) && DocumentMaskAttention.MaskModifierReference(b, h, q, kv, documents));
    }

    [Theory]
    [InlineData(70, 91, 16, 32)]
    [InlineData(200, 150, 32, 16)]
    public void MasksReadingBatchAndHeadGetOneRowPerBatchAndHead(int seqQ, int seqKv, int blockQ, int blockKV)
    {
        // EmptyRowsSoftcapFp32: causal (top-left) band and Keep(b, h, q, kv) = q % 4 != 1 && (q - kv < 40 || (b + h) % 2 == 0).
        var shape = new AttentionShape(2, seqQ, seqKv, 3, 3, 64, 64);
        var mask = EmptyRowsSoftcapFp32.CreateBlockMask(shape, blockQ, blockKV);
        (mask.Batches, mask.Heads).ShouldBe((2, 3));
        var band = EmptyRowsSoftcapFp32.Plan.Parameters.BandFor(shape);
        ExpectBruteForce(mask, shape, (b, h, q, kv) => band.Keeps(q, kv) && EmptyRowsSoftcapFp32.MaskModifierReference(b, h, q, kv));
    }

    [Fact]
    public void LibraryMasksEqualBruteForce()
    {
        var shape = new AttentionShape(1, 333, 333, 2, 2, 64, 64);
        foreach (var (name, create, keep) in new (string, Func<BlockMask>, Func<int, int, bool>)[]
        {
            ("PrefixLm", () => PrefixLmAttention.CreateBlockMask(shape, 32, 32), (q, kv) => PrefixLmAttention.MaskModifierReference(0, 0, q, kv)),
            ("SlidingWindowGlobal", () => SlidingWindowGlobalAttention.CreateBlockMask(shape, 64, 16), (q, kv) => SlidingWindowGlobalAttention.MaskModifierReference(0, 0, q, kv)),
            ("StridedSparse", () => StridedSparseAttention.CreateBlockMask(shape, 16, 64), (q, kv) => kv <= q && StridedSparseAttention.MaskModifierReference(0, 0, q, kv)),
        })
        {
            var mask = create();
            output.WriteLine($"{name}: density {mask.Density:F3}, {mask.PartialBlocks} partial, {mask.FullBlocks} full of {mask.TotalBlocks}");
            ExpectBruteForce(mask, shape, (b, h, q, kv) => keep(q, kv));
        }
    }

    [Fact]
    public void EqualDocumentsGiveTheDensityComputedByHand()
    {
        // 4 documents of 64 tokens, causal, 64x64 tiles: per query block, its diagonal block (partial: causal) only.
        var documents = DocumentMaskAttention.DocumentIds([64, 64, 64, 64]);
        var shape = new AttentionShape(1, 256, 256, 1, 1, 64, 64);
        var mask = DocumentMaskAttention.CreateBlockMask(shape, 64, 64, documents);
        mask.PartialBlocks.ShouldBe(4);
        mask.FullBlocks.ShouldBe(0);
        mask.Density.ShouldBe(4.0 / 16);

        // 32x32 tiles: each document spans 2x2 tiles: 2 diagonal (partial) + 1 below the diagonal (full).
        var fine = DocumentMaskAttention.CreateBlockMask(shape, 32, 32, documents);
        fine.PartialBlocks.ShouldBe(8);
        fine.FullBlocks.ShouldBe(4);
        fine.Density.ShouldBe(12.0 / 64);

        // The plan with the mask: 12 visited 32x32 tiles of 2·(64 + 64) FLOPs per pair, shared by 2 batches x 3 heads.
        var call = new AttentionShape(2, 256, 256, 3, 3, 64, 64);
        var estimate = DocumentMaskAttention.Plan.For(call, fine);
        estimate.BlockDensity.ShouldBe(12.0 / 64);
        estimate.VisitedBlocks.ShouldBe(12 * 6);
        estimate.BlockMaskFlops.ShouldBe(12.0 * 32 * 32 * 256 * 6);
        DocumentMaskAttention.Plan.Describe(call, fine).ShouldContain("8 partial + 4 full of 64");
    }

    [Fact]
    public void AMaskBuiltForAnotherShapeOrTileIsRejected()
    {
        var documents = DocumentMaskAttention.DocumentIds([50, 50]);
        var mask = DocumentMaskAttention.CreateBlockMask(new AttentionShape(1, 100, 100, 1, 1, 64, 64), 64, 64, documents);
        Should.Throw<ArgumentException>(() => mask.RequireMatches(new AttentionShape(1, 101, 101, 1, 1, 64, 64), 64, 64, "blockMask"))
            .Message.ShouldContain("built for Sq = 100, Skv = 100");
        Should.Throw<ArgumentException>(() => mask.RequireMatches(new AttentionShape(1, 100, 100, 1, 1, 64, 64), 128, 64, "blockMask"))
            .Message.ShouldContain("64x64 tiles, this kernel uses 128x64");
        Should.Throw<ArgumentException>(() => DocumentMaskAttention.CreateBlockMask(new AttentionShape(1, 100, 100, 1, 1, 64, 64), 64, 64, new int[99]))
            .ParamName.ShouldBe("documents");
    }

    [Theory]
    [InlineData("DocumentMask")]
    [InlineData("EmptyRowsSoftcap")]
    [InlineData("SlidingWindowGlobal")]
    [InlineData("StridedSparse")]
    public void CpuForwardWithABlockMaskMatchesTheReference(string name)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"{name}: seed {seed}");
        foreach (var shape in new[] { new AttentionShape(2, 91, 91, 4, 2, 64, 64), new AttentionShape(1, 700, 700, 2, 2, 64, 64) })
        {
            var random = new Random(seed + shape.SeqQ);
            var (spec, mask) = CpuCase(name, shape, random);
            output.WriteLine($"  {shape}: block density {mask.Density:F3} ({mask.PartialBlocks} partial, {mask.FullBlocks} full)");
            var result = spec.Run(shape, seed, 1f);
            output.WriteLine($"    relative error {result.OutputError:E2}, LSE max error {result.LseError:E2}, {result.EmptyRows} empty rows");
            double.IsNaN(result.OutputError).ShouldBeFalse();
            result.OutputError.ShouldBeLessThan(Tolerances.Output(spec.OutputType, false), $"seed {seed}");
            result.LseError.ShouldBeLessThan(Tolerances.Lse(false), $"seed {seed}");
            result.EmptyRowsExact.ShouldBeTrue($"seed {seed}");
        }
    }

    [Fact]
    public void TheCpuForwardRejectsAMaskForTheGpuTiles()
    {
        var documents = DocumentMaskAttention.DocumentIds([100, 100]);
        var shape = new AttentionShape(1, 200, 200, 1, 1, 64, 64);
        var gpuMask = DocumentMaskAttention.CreateGpuBlockMask(shape, documents);
        var q = new BFloat16[200 * 64];
        var error = Should.Throw<ArgumentException>(() => DocumentMaskAttention.Forward(q, q, q, new BFloat16[q.Length], new float[200], documents, shape, gpuMask));
        error.ParamName.ShouldBe("blockMask");
        error.Message.ShouldContain("tiles");
    }

    private static (MatrixCase Spec, BlockMask Mask) CpuCase(string name, AttentionShape shape, Random random)
    {
        switch (name)
        {
            case "DocumentMask":
            {
                var documents = DocumentMaskAttention.DocumentIds(RandomLengths(shape.SeqKv, random));
                var mask = DocumentMaskAttention.CreateCpuBlockMask(shape, documents);
                return (Bf16(name, MaskKind.Causal, MaskAlignment.TopLeft, (q, k, v, o, lse, s) => DocumentMaskAttention.Forward(q, k, v, o, lse, documents, s, mask), null,
                    (b, h, q, kv) => DocumentMaskAttention.MaskModifierReference(b, h, q, kv, documents)), mask);
            }

            case "EmptyRowsSoftcap":
            {
                var mask = EmptyRowsSoftcapFp32.CreateCpuBlockMask(shape);
                return (new MatrixCase<float, float>(name, DType.FP32, TensorLayout.BSHD, MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, 64, 64, true,
                    (q, k, v, o, lse, s) => EmptyRowsSoftcapFp32.Forward(q, k, v, o, lse, s, mask))
                    { ScoreMod = EmptyRowsSoftcapFp32.ScoreModifierReference, MaskMod = EmptyRowsSoftcapFp32.MaskModifierReference }, mask);
            }

            case "SlidingWindowGlobal":
            {
                var mask = SlidingWindowGlobalAttention.CreateCpuBlockMask(shape);
                return (Bf16(name, MaskKind.None, MaskAlignment.Unspecified, (q, k, v, o, lse, s) => SlidingWindowGlobalAttention.Forward(q, k, v, o, lse, s, mask), null,
                    SlidingWindowGlobalAttention.MaskModifierReference), mask);
            }

            default:
            {
                var mask = StridedSparseAttention.CreateCpuBlockMask(shape);
                return (Bf16(name, MaskKind.Causal, MaskAlignment.BottomRight, (q, k, v, o, lse, s) => StridedSparseAttention.Forward(q, k, v, o, lse, s, mask), null,
                    StridedSparseAttention.MaskModifierReference), mask);
            }
        }
    }

    private static MatrixCase Bf16(string name, MaskKind band, MaskAlignment alignment, ForwardSpans<BFloat16, BFloat16> forward, Func<double, int, int, int, int, double>? score, Func<int, int, int, int, bool>? keep) =>
        new MatrixCase<BFloat16, BFloat16>(name, DType.BF16, TensorLayout.BSHD, band, alignment, -1, band == MaskKind.Causal ? 0 : -1, 64, 64, true, forward) { ScoreMod = score, MaskMod = keep };

    private static int[] RandomLengths(int total, Random random)
    {
        var lengths = new System.Collections.Generic.List<int>();
        for (int left = total; left > 0;)
        {
            int length = Math.Min(left, 1 + random.Next(Math.Max(1, total / 4)));
            lengths.Add(length);
            left -= length;
        }

        return lengths.ToArray();
    }

    /// <summary>Classifies every block pair by visiting every element, and compares both lists of every row exactly.</summary>
    private static void ExpectBruteForce(BlockMask mask, AttentionShape shape, Func<int, int, int, int, bool> keep)
    {
        for (int b = 0; b < mask.Batches; b++)
        {
            for (int h = 0; h < mask.Heads; h++)
            {
                for (int qb = 0; qb < mask.QueryBlocks; qb++)
                {
                    var partial = new System.Collections.Generic.List<int>();
                    var full = new System.Collections.Generic.List<int>();
                    for (int kb = 0; kb < mask.KvBlocks; kb++)
                    {
                        int kept = 0, total = 0;
                        for (int q = qb * mask.BlockQ; q < Math.Min((qb + 1) * mask.BlockQ, shape.SeqQ); q++)
                        {
                            for (int kv = kb * mask.BlockKV; kv < Math.Min((kb + 1) * mask.BlockKV, shape.SeqKv); kv++)
                            {
                                total++;
                                kept += keep(b, h, q, kv) ? 1 : 0;
                            }
                        }

                        bool wholeTile = (kb + 1) * mask.BlockKV <= shape.SeqKv;
                        if (kept == total && wholeTile)
                        {
                            full.Add(kb);
                        }
                        else if (kept > 0)
                        {
                            partial.Add(kb);
                        }
                    }

                    int row = (((b * mask.Heads) + h) * mask.QueryBlocks) + qb;
                    var listed = mask.Indices.ToArray().Skip(row * mask.KvBlocks).Take(mask.KvBlocks).ToArray();
                    mask.Counts.Span[2 * row].ShouldBe(partial.Count, $"partial count, row (b {b}, h {h}, qb {qb})");
                    mask.Counts.Span[(2 * row) + 1].ShouldBe(full.Count, $"full count, row (b {b}, h {h}, qb {qb})");
                    listed.ShouldBe(partial.Concat(full).Concat(Enumerable.Repeat(-1, mask.KvBlocks - partial.Count - full.Count)).ToArray(), $"row (b {b}, h {h}, qb {qb})");
                }
            }
        }
    }
}
