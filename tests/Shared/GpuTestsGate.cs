using KernelDsl.Cuda;
using Xunit;

namespace KernelDsl.TestSupport;

/// <summary>
/// The one line per GPU test project that says whether its GPU-only tests (trait Requires=GPU) can run here and, if
/// not, why: the reason is the theory's argument, so it shows in the test's name at normal verbosity, where a skip
/// reason alone would not. tests/Directory.Build.targets leaves the GPU-only tests out on machines without a GPU.
/// </summary>
public sealed class GpuTestsGate
{
    public static TheoryData<string> Reason => new(Cuda.Cuda.IsAvailable ? "none: a CUDA GPU is present" : Cuda.Cuda.UnavailableReason ?? "unknown");

    [Theory]
    [MemberData(nameof(Reason))]
    public void GpuOnlyTestsSkippedBecause(string reason)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"GPU-only tests not run: {reason} (run them where there is a GPU; -p:KdslGpuTests=true lists each)");

        // With a GPU the gate checks what every GPU test needs first: a device that answers.
        Assert.False(string.IsNullOrEmpty(Cuda.Cuda.GetDevice().Name));
    }
}
