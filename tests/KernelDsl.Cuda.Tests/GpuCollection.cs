using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// GPU tests run one at a time: some measure free device memory or time kernels, which concurrent tests
/// would disturb. The trait marks them GPU-only (tests/Directory.Build.targets).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
[Trait("Requires", "GPU")]
public sealed class GpuCollection
{
    public const string Name = "GPU";
}
