using System;
using System.Linq;
using KernelDsl.Samples.Library;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// Library specs whose score modifiers read captured buffers, through the device Forward with DeviceBuffers, against
/// the float64 reference over the same buffers: ALiBi with random per-head slopes, T5 with a random bias table.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuCapturedBufferTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2, 333, 4, 2)]
    [InlineData(1, 1000, 3, 3)]
    public void AlibiWithCapturedSlopesMatchesTheReference(int batch, int seq, int headsQ, int headsKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var shape = new AttentionShape(batch, seq, seq, headsQ, headsKv, 64, 64);
        var slopes = Enumerable.Range(0, headsQ).Select(_ => (float)(random.NextDouble() * 0.1)).ToArray();
        output.WriteLine($"seed {seed}, {shape}, slopes {string.Join(" ", slopes)}");
        using var deviceSlopes = DeviceBuffer<float>.From(slopes);
        DeviceRun.CompareBothWays(output, shape, random, AlibiAttention.Plan.Parameters.BandFor(shape),
            (x, b, h, q, kv) => AlibiAttention.ScoreModifierReference(x, b, h, q, kv, slopes), null,
            (q, k, v, o, lse, _) => AlibiAttention.Forward(q, k, v, o, lse, deviceSlopes), [false]);
    }

    [Theory]
    [InlineData(2, 333, 4, 2)]
    [InlineData(1, 1000, 3, 3)]
    public void T5BiasWithACapturedTableMatchesTheReference(int batch, int seq, int headsQ, int headsKv)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var shape = new AttentionShape(batch, seq, seq, headsQ, headsKv, 64, 64);
        var bias = Enumerable.Range(0, headsQ * T5RelativeBiasAttention.Buckets).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        output.WriteLine($"seed {seed}, {shape}, random bias table in [-2, 2)");
        using var deviceBias = DeviceBuffer<float>.From(bias);
        DeviceRun.CompareBothWays(output, shape, random, T5RelativeBiasAttention.Plan.Parameters.BandFor(shape),
            (x, b, h, q, kv) => T5RelativeBiasAttention.ScoreModifierReference(x, b, h, q, kv, bias), null,
            (q, k, v, o, lse, _) => T5RelativeBiasAttention.Forward(q, k, v, o, lse, deviceBias), [false]);
    }
}
