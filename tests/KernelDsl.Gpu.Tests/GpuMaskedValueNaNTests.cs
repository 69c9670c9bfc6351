using System;
using System.Linq;
using KernelDsl.Cuda;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// The documented GPU exception to "masked keys never reach a row" (README, semantics: non-finite inputs): a NaN in
/// v[j] reaches every row whose query tile visits key j's KV tile, masked or not (0·NaN in the tensor-core P·V), while
/// rows whose tile skips that KV tile, and every row on the CPU and in the reference, get the exact result. Checked
/// element by element for a causal spec on the sm_80 kernel (forced, so its tiles are known): rows that keep j are NaN
/// in column d (as the reference), masked rows of visiting tiles are NaN in column d (the GPU rule), all the rest equal
/// the reference within tolerance.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuMaskedValueNaNTests(ITestOutputHelper output)
{
    [Fact]
    public void A_NaN_value_reaches_exactly_the_rows_of_tiles_that_visit_its_key()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        const int S = 300, H = 2, D = 64;
        var shape = new AttentionShape(1, S, S, H, H, D, D);
        var tiles = GpuFp16BshdCausalTopLeftD64.Plan.Parameters.GpuKernels!.Single(t => t.Family == "sm_80");
        int j = 150 + random.Next(100), d = random.Next(D);
        var q = RandomTensors.Uniform<Half>(random, S * H * D);
        var k = RandomTensors.Uniform<Half>(random, S * H * D);
        var v = RandomTensors.Uniform<Half>(random, S * H * D);
        v[((j * H) + 0) * D + d] = Half.NaN; // head 0
        output.WriteLine($"NaN at v[key {j}, head 0, column {d}]; sm_80 tiles {tiles.BlockQ} x {tiles.BlockKV}");

        string? forced = GpuKernelSelection.ForcedFamily;
        GpuKernelSelection.ForcedFamily = "sm_80";
        try
        {
            using var dq = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, S, H, D);
            using var dk = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, S, H, D);
            using var dv = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, S, H, D);
            using var dout = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, S, H, D);
            using var dlse = new DeviceBuffer<float>(H * S);
            dq.Upload(q);
            dk.Upload(k);
            dv.Upload(v);
            dout.Fill((Half)12345f);
            GpuFp16BshdCausalTopLeftD64.Forward(dq, dk, dv, dout, dlse);
            var o = dout.ToArray();

            var reference = AttentionReference.Compute<Half>(q, k, v, shape, TensorLayout.BSHD, 0.125, MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0, S, S));
            int keptNaN = 0, maskedNaN = 0;
            double worst = 0;
            for (int i = 0; i < S; i++)
            {
                // Top-left causal: row i's query tile visits KV tile kb when the tile starts at or before the tile's last row.
                int lastRowOfTile = Math.Min(S, ((i / tiles.BlockQ) + 1) * tiles.BlockQ) - 1;
                bool visits = j / tiles.BlockKV * tiles.BlockKV <= lastRowOfTile;
                for (int h = 0; h < H; h++)
                {
                    for (int c = 0; c < D; c++)
                    {
                        int at = ((i * H) + h) * D + c;
                        double expected = reference.Output[at];
                        bool nanExpected = double.IsNaN(expected) || (h == 0 && c == d && visits);
                        Half.IsNaN(o[at]).ShouldBe(nanExpected, $"row {i}, head {h}, column {c}: {o[at]} (reference {expected}, tile visits key {j}: {visits})");
                        if (nanExpected)
                        {
                            keptNaN += double.IsNaN(expected) ? 1 : 0;
                            maskedNaN += double.IsNaN(expected) ? 0 : 1;
                            continue;
                        }

                        worst = Math.Max(worst, Math.Abs((double)o[at] - expected));
                    }
                }
            }

            output.WriteLine($"{keptNaN} NaN outputs in rows that keep key {j} (as the reference), {maskedNaN} in masked rows of visiting tiles (the GPU rule); elsewhere max abs error {worst:E2}");
            keptNaN.ShouldBe(S - j);
            maskedNaN.ShouldBeGreaterThan(0, "the key's tile must hold masked rows for the case to test the rule");
            worst.ShouldBeLessThan(1e-2);
        }
        finally
        {
            GpuKernelSelection.ForcedFamily = forced;
        }
    }
}
