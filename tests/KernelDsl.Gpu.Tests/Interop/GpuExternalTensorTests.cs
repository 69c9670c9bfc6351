using System;
using KernelDsl.Cuda;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests.Interop;

/// <summary>
/// The generated device Forward on memory it does not own, as when a model keeps q, k and v in one packed
/// [B, S, 3, H, D] tensor (PyTorch's fused qkv projection): three strided views over one buffer, the output a
/// contiguous view over another, launched on a wrapped stream — compared with the float64 reference.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuExternalTensorTests(ITestOutputHelper output)
{
    [Fact]
    public void ForwardOnStridedViewsOfAPackedQkvTensorMatchesTheReference()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        const int batch = 2, seq = 300, heads = 4, dim = 64;
        var shape = new AttentionShape(batch, seq, seq, heads, heads, dim, dim);

        // The "other library's" tensors: a packed qkv and an output, owned by buffers this test frees.
        Half[] packed = RandomTensors.Uniform<Half>(random, batch * seq * 3 * heads * dim);
        using var qkvOwner = DeviceBuffer<Half>.From(packed);
        using var outputOwner = new DeviceBuffer<Half>((long)batch * seq * heads * dim);
        outputOwner.Fill(Half.NaN);
        using var streamOwner = CudaStream.Create();

        int[] lengths = [batch, seq, heads, dim];
        long[] strides = [seq * 3L * heads * dim, 3L * heads * dim, dim, 1];
        ulong headBytes = (ulong)(heads * dim * sizeof(ushort));
        using var q = DeviceTensor<Half>.Wrap(qkvOwner.DevicePointer, TensorLayout.BSHD, lengths, strides);
        using var k = DeviceTensor<Half>.Wrap(qkvOwner.DevicePointer + headBytes, TensorLayout.BSHD, lengths, strides);
        using var v = DeviceTensor<Half>.Wrap(qkvOwner.DevicePointer + (2 * headBytes), TensorLayout.BSHD, lengths, strides);
        using var o = DeviceTensor<Half>.Wrap(outputOwner.DevicePointer, TensorLayout.BSHD, lengths);
        using var stream = CudaStream.Wrap(streamOwner.NativeHandle);

        ExternalCausalFp16.Forward(q, k, v, o, stream);
        streamOwner.Synchronize();

        var (hostQ, hostK, hostV) = Unpack(packed, batch * seq, heads * dim);
        var reference = AttentionReference.Compute<Half>(hostQ, hostK, hostV, shape, TensorLayout.BSHD, 1 / Math.Sqrt(dim),
            ExternalCausalFp16.Plan.Parameters.BandFor(shape));
        double error = ErrorMetrics.RelativeError<Half>(outputOwner.ToArray(), reference.Output);
        output.WriteLine($"relative error {error:E2}");
        error.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: false));
    }

    /// <summary>Splits [rows, 3, width] into three contiguous [rows, width] arrays.</summary>
    private static (Half[] Q, Half[] K, Half[] V) Unpack(Half[] packed, int rows, int width)
    {
        var parts = new[] { new Half[rows * width], new Half[rows * width], new Half[rows * width] };
        for (int row = 0; row < rows; row++)
        {
            for (int part = 0; part < 3; part++)
            {
                Array.Copy(packed, ((row * 3) + part) * width, parts[part], row * width, width);
            }
        }

        return (parts[0], parts[1], parts[2]);
    }
}

[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class ExternalCausalFp16;
