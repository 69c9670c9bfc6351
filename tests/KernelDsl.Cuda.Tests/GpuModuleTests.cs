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
