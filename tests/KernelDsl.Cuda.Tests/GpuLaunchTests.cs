using System;
using System.Linq;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Hand-written PTX kernels loaded through the JIT and launched; results checked on the host.</summary>
[Collection(GpuCollection.Name)]
public class GpuLaunchTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(100_003)]
    public void AxpyMatchesTheHostBitForBit(int n)
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        float[] x = TestSupport.RandomFloats(random, n);
        float[] y = TestSupport.RandomFloats(random, n);
        float alpha = (float)(random.NextDouble() * 4 - 2);

        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("axpy"), "axpy");
        using var dx = DeviceBuffer<float>.From(x);
        using var dy = DeviceBuffer<float>.From(y);
        using var dout = new DeviceBuffer<float>(n);
        dout.Fill(float.NaN);

        var arguments = new KernelArguments().AddPointer(dout).AddPointer(dx).AddPointer(dy).AddF32(alpha).AddU32((uint)n);
        kernel.Launch((n + 255) / 256, 256, 0, null, arguments);
        float[] result = dout.ToArray();

        for (int i = 0; i < n; i++)
        {
            float expected = MathF.FusedMultiplyAdd(alpha, x[i], y[i]);
            if (BitConverter.SingleToUInt32Bits(result[i]) != BitConverter.SingleToUInt32Bits(expected))
            {
                Assert.Fail($"out[{i}] = {result[i]:R}, expected {expected:R} (alpha {alpha:R}, x {x[i]:R}, y {y[i]:R})");
            }
        }
    }

    [Fact]
    public void ScalarParametersArriveWhereTheKernelReadsThem()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        uint a = (uint)random.Next() | 0x8000_0000u;
        int b = -random.Next(1, int.MaxValue);
        ulong c = ((ulong)(uint)random.Next() << 32) | (uint)random.Next();
        float d = (float)random.NextDouble() * 1000f;

        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("echo_params"), "echo_params");
        using var dout = new DeviceBuffer<uint>(5);
        dout.Memset(0xAB);
        kernel.Launch(1, 1, 0, null, new KernelArguments().AddPointer(dout).AddU32(a).AddS32(b).AddU64(c).AddF32(d));
        uint[] words = dout.ToArray();

        words[0].ShouldBe(a);
        unchecked((int)words[1]).ShouldBe(b);
        (((ulong)words[3] << 32) | words[2]).ShouldBe(c);
        BitConverter.UInt32BitsToSingle(words[4]).ShouldBe(d);
    }

    [Fact]
    public void LaunchOnAStream()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        const int n = 4097;
        float[] x = TestSupport.RandomFloats(random, n);
        float[] y = TestSupport.RandomFloats(random, n);

        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("axpy"), "axpy");
        using var stream = CudaStream.Create();
        using var dx = DeviceBuffer<float>.From(x);
        using var dy = DeviceBuffer<float>.From(y);
        using var dout = new DeviceBuffer<float>(n);
        dout.Fill(float.NaN);
        kernel.Launch((n + 127) / 128, 128, 0, stream, new KernelArguments().AddPointer(dout).AddPointer(dx).AddPointer(dy).AddF32(-1f).AddU32(n));
        stream.Synchronize();

        dout.ToArray().ShouldBe(x.Zip(y, (xi, yi) => MathF.FusedMultiplyAdd(-1f, xi, yi)).ToArray());
    }

    [Fact]
    public void KernelAttributesComeFromTheJit()
    {
        TestSupport.RequireGpu();
        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("axpy"), "axpy");
        output.WriteLine(kernel.ToString());
        // The info log is empty when the driver's disk cache already holds this PTX, so it is printed, not checked.
        output.WriteLine(kernel.Module.InfoLog);

        kernel.EntryName.ShouldBe("axpy");
        kernel.Registers.ShouldBeInRange(1, 255);
        kernel.LocalMemoryBytes.ShouldBe(0);
        kernel.StaticSharedMemoryBytes.ShouldBe(0);
        kernel.MaxThreadsPerBlock.ShouldBe(1024);
    }

    [Fact]
    public void LargeDynamicSharedMemoryIsRaisedOnceAndUsable()
    {
        TestSupport.RequireGpu();
        CudaDevice device = Cuda.GetDevice();
        Assert.SkipUnless(device.SharedMemoryPerBlockOptIn >= 96 * 1024, $"{device.Name} allows only {device.SharedMemoryPerBlockOptIn} bytes per block");

        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("smem_probe"), "smem_probe");
        int bytes = device.SharedMemoryPerBlockOptIn;
        using var dout = new DeviceBuffer<uint>(32);
        dout.Memset(0xFF);

        // Launch raises the limit itself; the top word of the opt-in window is touched.
        kernel.Launch(1, 32, bytes, null, new KernelArguments().AddPointer(dout).AddU32((uint)(bytes / 4 - 1)));
        uint[] words = dout.ToArray();

        kernel.MaxDynamicSharedMemoryBytes.ShouldBe(bytes);
        words.ShouldBe(Enumerable.Range(0, 32).Select(t => (uint)(3 * (32 - t))).ToArray());
    }

    [Fact]
    public void DynamicSharedMemoryBeyondTheDeviceIsRejectedBeforeLaunch()
    {
        TestSupport.RequireGpu();
        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("smem_probe"), "smem_probe");

        var error = Should.Throw<ArgumentOutOfRangeException>(() => kernel.EnsureDynamicSharedMemory(Cuda.GetDevice().SharedMemoryPerBlockOptIn + 16));
        error.Message.ShouldContain("smem_probe");
    }

    [Fact]
    public void TooManyThreadsPerBlockIsRejectedBeforeLaunch()
    {
        TestSupport.RequireGpu();
        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("axpy"), "axpy");

        Should.Throw<ArgumentOutOfRangeException>(() => kernel.Launch(1, 2048, 0, null, new KernelArguments()));
    }

    [Fact]
    public void DriverRejectedLaunchIsACudaException()
    {
        TestSupport.RequireGpu();
        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("axpy"), "axpy");

        // A grid y extent above 65535 is invalid on every device; the driver refuses at launch time.
        var error = Should.Throw<CudaException>(() =>
            kernel.Launch((1, 70_000), 32, 0, null, new KernelArguments().AddPointer(0).AddPointer(0).AddPointer(0).AddF32(0).AddU32(0)));
        error.Call.ShouldBe("cuLaunchKernel");
        error.Message.ShouldContain("axpy");
        Cuda.Synchronize();  // the context is still healthy
    }
}
