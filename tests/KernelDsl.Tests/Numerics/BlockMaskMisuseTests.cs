using System;
using KernelDsl.Reference;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// Block masks fail loudly when misused: a mask that depends on the batch index (or head) fits only calls with exactly
/// the batch (head) count it was built for, one included; a mask is immutable once built; and the opt-in
/// <see cref="BlockMask.ValidateOnUse"/> rebuilds it at each call and rejects one built for other buffer contents.
/// </summary>
public sealed class BlockMaskMisuseTests(ITestOutputHelper output)
{
    [Fact]
    public void A_mask_that_reads_b_built_for_one_batch_is_rejected_for_two()
    {
        // EmptyRowsSoftcapFp32's Keep(b, h, q, kv) reads b and h: its mask has one row set per batch and head.
        var built = new AttentionShape(1, 70, 70, 2, 2, 64, 64);
        var mask = EmptyRowsSoftcapFp32.CreateCpuBlockMask(built);
        (mask.Batches, mask.PerBatch, mask.PerHead).ShouldBe((1, true, true));

        var call = built with { Batch = 2 };
        var q = new float[2 * 70 * 2 * 64];
        var error = Should.Throw<ArgumentException>(() => EmptyRowsSoftcapFp32.Forward(q, q, q, new float[q.Length], new float[2 * 2 * 70], call, mask));
        error.ParamName.ShouldBe("blockMask");
        error.Message.ShouldContain("reads the batch index and it was built for 1 batch(es), the call has 2");

        var heads = built with { HeadsQ = 1, HeadsKv = 1 };
        Should.Throw<ArgumentException>(() => mask.RequireMatches(heads, mask.BlockQ, mask.BlockKV, "blockMask")).Message.ShouldContain("2 query head(s), the call has 1");
    }

    [Fact]
    public void A_shared_mask_built_for_one_batch_serves_two_and_matches_the_reference()
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var documents = DocumentMaskAttention.DocumentIds([30, 1, 45, 24]);
        var mask = DocumentMaskAttention.CreateCpuBlockMask(new AttentionShape(1, 100, 100, 1, 1, 64, 64), documents);
        (mask.PerBatch, mask.PerHead).ShouldBe((false, false));

        var shape = new AttentionShape(2, 100, 100, 4, 2, 64, 64);
        var q = RandomTensors.Uniform<BFloat16>(random, 2 * 100 * 4 * 64);
        var k = RandomTensors.Uniform<BFloat16>(random, 2 * 100 * 2 * 64);
        var v = RandomTensors.Uniform<BFloat16>(random, 2 * 100 * 2 * 64);
        var o = new BFloat16[q.Length];
        o.AsSpan().Fill((BFloat16)float.NaN);
        var lse = new float[2 * 4 * 100];
        lse.AsSpan().Fill(float.NaN);
        DocumentMaskAttention.Forward(q, k, v, o, lse, documents, shape, mask);

        var band = DocumentMaskAttention.Plan.Parameters.BandFor(shape);
        var reference = AttentionReference.Compute<BFloat16>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(64), band, null,
            (b, h, i, j) => DocumentMaskAttention.MaskModifierReference(b, h, i, j, documents));
        double error = ErrorMetrics.RelativeError<BFloat16>(o, reference.Output);
        output.WriteLine($"relative error {error:E2}");
        error.ShouldBeLessThan(1e-2);
    }

    [Fact]
    public void A_mask_is_a_copy_of_the_arrays_it_was_given()
    {
        int[] counts = [1, 1, 0, 2], indices = [3, 0, -1, -1, 1, 2, -1, -1];
        var mask = new BlockMask(100, 100, 64, 32, 1, 1, counts, indices);
        counts[0] = 4;
        indices[0] = 99;
        mask.Counts.ToArray().ShouldBe([1, 1, 0, 2]);
        mask.Indices.Span[0].ShouldBe(3);
        mask.PartialBlocks.ShouldBe(1);
    }

    [Fact]
    public void A_shared_mask_cannot_claim_more_than_one_batch_of_rows() =>
        Should.Throw<ArgumentException>(() => new BlockMask(100, 100, 64, 32, 2, 1, new int[8], new int[16], perBatch: false))
            .Message.ShouldContain("shared by every batch");

    [Fact]
    public void Validation_on_use_rejects_a_mask_built_for_other_buffer_contents()
    {
        // Two documents, then one: the second half's queries see the first half's key blocks only in the second layout.
        var shape = new AttentionShape(1, 512, 512, 1, 1, 64, 64);
        var built = DocumentMaskAttention.DocumentIds([256, 256]);
        var now = DocumentMaskAttention.DocumentIds([512]);
        var mask = DocumentMaskAttention.CreateCpuBlockMask(shape, built);
        var q = RandomTensors.Uniform<BFloat16>(new Random(5), 512 * 64);
        bool before = BlockMask.ValidateOnUse;
        try
        {
            BlockMask.ValidateOnUse = true;
            DocumentMaskAttention.Forward(q, q, q, new BFloat16[q.Length], new float[512], built, shape, mask);
            var error = Should.Throw<ArgumentException>(() => DocumentMaskAttention.Forward(q, q, q, new BFloat16[q.Length], new float[512], now, shape, mask));
            error.ParamName.ShouldBe("blockMask");
            error.Message.ShouldContain("built for other buffer contents or another spec");
        }
        finally
        {
            BlockMask.ValidateOnUse = before;
        }
    }
}
