using KernelDsl.Cuda.Native;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>The exception text: call, driver name and code, message and detail — with or without a driver.</summary>
public class CudaExceptionTests
{
    [Fact]
    public void MessageNamesCallResultAndDetail()
    {
        var error = new CudaException(CudaResult.ErrorOutOfMemory, "cuMemAlloc_v2", "4096 bytes");

        error.Result.ShouldBe(CudaResult.ErrorOutOfMemory);
        error.Call.ShouldBe("cuMemAlloc_v2");
        error.Message.ShouldStartWith("cuMemAlloc_v2 failed: ");
        error.Message.ShouldContain("(2)");
        error.Message.ShouldContain(error.ErrorName);
        error.Message.ShouldContain(error.ErrorMessage);
        error.Message.ShouldEndWith(". 4096 bytes");
    }

    [Fact]
    public void ErrorNameComesFromTheDriverWhenItLoads()
    {
        var error = new CudaException(CudaResult.ErrorInvalidPtx, "cuModuleLoadDataEx");

        // cuGetErrorName needs no cuInit, only the library; without it the enum name stands in.
        error.ErrorName.ShouldBe(TestSupport.DriverLibraryLoads() ? "CUDA_ERROR_INVALID_PTX" : "CUDA ErrorInvalidPtx");
        error.ErrorMessage.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void UnknownResultStillFormats()
    {
        var error = new CudaException((CudaResult)54321, "cuLaunchKernel");

        error.Message.ShouldContain("cuLaunchKernel failed");
        error.Message.ShouldContain("(54321)");
    }

    [Fact]
    public void JitExceptionCarriesTheErrorLogInItsMessage()
    {
        var error = new CudaJitException(CudaResult.ErrorInvalidPtx, "ptxas application ptx input, line 7; error   : Unknown modifier '.bogus'", "info");

        error.Call.ShouldBe("cuModuleLoadDataEx");
        error.Message.ShouldContain("line 7; error   : Unknown modifier '.bogus'");
        error.ErrorLog.ShouldContain("Unknown modifier");
        error.InfoLog.ShouldBe("info");
    }
}
