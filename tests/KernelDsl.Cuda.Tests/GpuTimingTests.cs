using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Event timing of real GPU work.</summary>
[Collection(GpuCollection.Name)]
public class GpuTimingTests(ITestOutputHelper output)
{
    [Fact]
    public void TimerMeasuresKernelWork()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        const int n = 1 << 24;
        CudaKernel kernel = Cuda.DefaultContext.Modules.GetKernel(TestSupport.Ptx("axpy"), "axpy");
        using var x = DeviceBuffer<float>.From(TestSupport.RandomFloats(random, n));
        using var y = DeviceBuffer<float>.From(TestSupport.RandomFloats(random, n));
        using var result = new DeviceBuffer<float>(n);
        var arguments = new KernelArguments().AddPointer(result).AddPointer(x).AddPointer(y).AddF32(0.5f).AddU32(n);
        using var stream = CudaStream.Create();
        using var timer = new CudaTimer();

        float Time(int launches)
        {
            timer.Start(stream);
            for (int i = 0; i < launches; i++)
            {
                kernel.Launch(n / 256, 256, 0, stream, arguments);
            }

            timer.Stop(stream);
            return timer.ElapsedMilliseconds();
        }

        Time(1);  // warm-up
        float one = Time(1);
        float twenty = Time(20);
        output.WriteLine($"1 launch: {one:F4} ms, 20 launches: {twenty:F4} ms ({3.0 * 4 * n * 20 / (twenty * 1e-3) / 1e9:F0} GB/s)");

        one.ShouldBeGreaterThan(0f);
        twenty.ShouldBeGreaterThan(one * 5, "twenty launches of a memory-bound kernel take clearly longer than one");
    }

    [Fact]
    public void StopBeforeStartIsAnError()
    {
        TestSupport.RequireGpu();
        using var timer = new CudaTimer();

        Should.Throw<InvalidOperationException>(() => timer.Stop());
        Should.Throw<InvalidOperationException>(() => timer.ElapsedMilliseconds());
    }
}
