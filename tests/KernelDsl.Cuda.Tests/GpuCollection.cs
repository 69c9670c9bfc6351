using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// GPU tests run one at a time: some measure free device memory or time kernels, which concurrent tests
/// would disturb.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GpuCollection
{
    public const string Name = "GPU";
}
