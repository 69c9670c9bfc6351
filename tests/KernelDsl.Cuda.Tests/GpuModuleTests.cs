using System;
using System.Threading.Tasks;
using KernelDsl.Cuda.Native;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>PTX loading: caching per context, first-load time, the JIT's logs, errors.</summary>
[Collection(GpuCollection.Name)]
public class GpuModuleTests(ITestOutputHelper output)
{
    [Fact]
    public void SamePtxLoadsOnceAndRecordsItsLoadTime()
    {
        TestSupport.RequireGpu();
        // A unique comment makes this PTX text new to the cache (the driver's own disk cache may still hit).
        string ptx = TestSupport.Ptx("axpy") + $"\n// {Guid.NewGuid()}\n";
        CudaModuleCache cache = Cuda.DefaultContext.Modules;
        cache.IsLoaded(ptx).ShouldBeFalse();

        CudaModule first = cache.GetOrLoad(ptx);
        CudaModule again = cache.GetOrLoad(ptx);
        CudaModule byContent = cache.GetOrLoad(new string(ptx.AsSpan()));  // equal text, different string object
        output.WriteLine($"first load {first.LoadTime.TotalMilliseconds:F2} ms (JIT wall time {first.JitWallTimeMilliseconds:F2} ms)");

        again.ShouldBeSameAs(first);
        byContent.ShouldBeSameAs(first);
        cache.IsLoaded(ptx).ShouldBeTrue();
        first.LoadTime.ShouldBeGreaterThan(TimeSpan.Zero);
        first.GetKernel("axpy").ShouldBeSameAs(cache.GetKernel(ptx, "axpy"));
    }

    /// <summary>
    /// A generated kernel descriptor finds its kernel by identity after the first call, and shares the module loaded for
    /// its PTX text; the per-launch lookup stays cheap for a large PTX that is not interned (generated code's case).
    /// </summary>
    [Fact]
    public void KernelDescriptorsFindTheirKernelWithoutHashingThePtx()
    {
        TestSupport.RequireGpu();
        string ptx = new string((TestSupport.Ptx("axpy") + $"\n// {Guid.NewGuid()}\n" + string.Concat(System.Linq.Enumerable.Repeat("// padding that makes the text large\n", 5000))).AsSpan());
        string.IsInterned(ptx).ShouldBeNull("the test needs a non-interned PTX, like the generated code's decoded UTF-8 text");
        var info = new GpuKernelInfo(ptx, "axpy", 128, 128, 0);
        CudaModuleCache cache = Cuda.DefaultContext.Modules;
        CudaKernel first = cache.GetKernel(info);
        first.ShouldBeSameAs(cache.GetKernel(ptx, "axpy"));
        cache.GetKernel(info with { }).ShouldBeSameAs(first, "an equal descriptor (a copy) still reaches the same module");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++)
        {
            cache.GetKernel(info);
        }

        double perCallUs = clock.Elapsed.TotalMilliseconds;  // 1000 calls: total ms = µs per call
        output.WriteLine($"descriptor lookup: {perCallUs:F2} us per call (PTX of {ptx.Length} characters)");
        perCallUs.ShouldBeLessThan(20, "a lookup by identity must not hash the 190 K-character PTX (~50 us and more)");
    }

    [Fact]
    public void ConcurrentFirstCallsShareOneModule()
    {
        TestSupport.RequireGpu();
        string ptx = TestSupport.Ptx("axpy") + $"\n// {Guid.NewGuid()}\n";
        int before = Cuda.DefaultContext.Modules.Count;

        var modules = new CudaModule[8];
        Parallel.For(0, modules.Length, i => modules[i] = Cuda.DefaultContext.Modules.GetOrLoad(new string(ptx.AsSpan())));

        modules.ShouldAllBe(m => ReferenceEquals(m, modules[0]));
        Cuda.DefaultContext.Modules.Count.ShouldBe(before + 1);
    }

    [Fact]
    public void BadPtxThrowsWithTheJitErrorLog()
    {
        TestSupport.RequireGpu();
        string bad = TestSupport.Ptx("axpy").Replace("fma.rn.f32", "fma.bogus.f32") + $"\n// {Guid.NewGuid()}\n";

        var error = Should.Throw<CudaJitException>(() => Cuda.DefaultContext.Modules.GetOrLoad(bad));
        output.WriteLine(error.Message);

        error.Result.ShouldBe(CudaResult.ErrorInvalidPtx);
        error.ErrorName.ShouldBe("CUDA_ERROR_INVALID_PTX");
        error.ErrorLog.ShouldNotBeNullOrWhiteSpace();
        error.ErrorLog.ShouldContain("bogus");
        error.Message.ShouldContain(error.ErrorLog);
        Cuda.DefaultContext.Modules.IsLoaded(bad).ShouldBeFalse();
    }

    [Fact]
    public void UnknownEntryNameIsNamed()
    {
        TestSupport.RequireGpu();
        CudaModule module = Cuda.DefaultContext.Modules.GetOrLoad(TestSupport.Ptx("axpy"));

        var error = Should.Throw<CudaException>(() => module.GetKernel("no_such_kernel"));

        error.Result.ShouldBe(CudaResult.ErrorNotFound);
        error.Message.ShouldContain("no_such_kernel");
    }
}
