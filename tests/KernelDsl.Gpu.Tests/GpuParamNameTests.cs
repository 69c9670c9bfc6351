using System;
using System.Linq;
using System.Reflection;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// The device Forward's ArgumentExceptions name its parameters (as ParamNameAuditTests does for the CPU entry points):
/// each bad-argument case's ParamName is non-null, a parameter of the generated Forward, and the one at fault.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuParamNameTests
{
    [Fact]
    public void The_device_forward_names_its_parameters()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var m = typeof(GpuFp16BshdNoMaskD64).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Single(x => x.Name == "Forward" && x.GetParameters()[0].ParameterType == typeof(DeviceTensor<Half>));
        using var q = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 40, 4, 64);
        using var k = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 50, 2, 64);
        using var v = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 50, 2, 64);
        using var o = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 40, 4, 64);
        using var lse = new DeviceBuffer<float>(2 * 4 * 40);
        using var bhsd = DeviceTensor<Half>.Create(TensorLayout.BHSD, 2, 40, 4, 64);
        using var wideK = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 50, 2, 128);
        using var wrongO = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 41, 4, 64);
        using var shortLse = new DeviceBuffer<float>(2 * 4 * 40 - 1);
        using var aliasQ = DeviceTensor<Half>.Wrap(q.DevicePointer, TensorLayout.BSHD, [2, 40, 4, 64]);
        using var misaligned = DeviceTensor<Half>.Wrap(q.DevicePointer + 2, TensorLayout.BSHD, [2, 39, 4, 64]);
        using var misalignedO = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 39, 4, 64);
        using var misalignedLse = new DeviceBuffer<float>(2 * 4 * 39);
        Names(m, "q", () => GpuFp16BshdNoMaskD64.Forward(bhsd, k, v, o, lse));
        Names(m, "k", () => GpuFp16BshdNoMaskD64.Forward(q, wideK, v, o, lse));
        Names(m, "output", () => GpuFp16BshdNoMaskD64.Forward(q, k, v, wrongO, lse));
        Names(m, "lse", () => GpuFp16BshdNoMaskD64.Forward(q, k, v, o, shortLse));
        Names(m, "output", () => GpuFp16BshdNoMaskD64.Forward(q, k, v, aliasQ, lse));
        Names(m, "q", () => GpuFp16BshdNoMaskD64.Forward(misaligned, k, v, misalignedO, misalignedLse));

        // CUDA's grid limit on the head extent (65,535), from q's heads.
        using var manyHeads = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 1, 65_536, 64);
        using var manyHeadsO = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 1, 65_536, 64);
        using var oneK = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 4, 1, 64);
        using var manyLse = new DeviceBuffer<float>(65_536);
        Names(m, "q", () => GpuFp16BshdNoMaskD64.Forward(manyHeads, oneK, oneK, manyHeadsO, manyLse));
    }

    [Fact]
    public void Captured_buffers_and_block_masks_are_named()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var m = typeof(GpuDocumentBf16D128).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Single(x => x.Name == "Forward" && x.GetParameters()[0].ParameterType == typeof(DeviceTensor<BFloat16>));
        var shape = new AttentionShape(1, 64, 64, 2, 2, 128, 128);
        using var q = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 64, 2, 128);
        using var o = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 64, 2, 128);
        using var lse = new DeviceBuffer<float>(2 * 64);
        using var shortDocuments = new DeviceBuffer<int>(63);
        using var documents = DeviceBuffer<int>.From(new int[64]);
        Names(m, "documents", () => GpuDocumentBf16D128.Forward(q, q, q, o, lse, shortDocuments));
        using var otherShape = GpuDocumentBf16D128.CreateGpuBlockMask(shape with { SeqQ = 32, SeqKv = 32 }, new int[32]).ToDevice();
        Names(m, "blockMask", () => GpuDocumentBf16D128.Forward(q, q, q, o, lse, documents, blockMask: otherShape));
    }

    private static void Names(MethodBase method, string expected, Action call)
    {
        var error = Should.Throw<ArgumentException>(call);
        var parameters = method.GetParameters().Select(p => p.Name).ToArray();
        error.ParamName.ShouldNotBeNull($"'{error.Message}' names no parameter");
        parameters.ShouldContain(error.ParamName, $"Forward({string.Join(", ", parameters)}) has no parameter '{error.ParamName}' ('{error.Message}')");
        error.ParamName.ShouldBe(expected, error.Message);
    }
}
