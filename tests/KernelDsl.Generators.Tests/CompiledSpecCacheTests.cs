using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// The cross-build cache of compiled specs: a spec parsed again (a new driver, as each command-line build makes) gets
/// the output compiled before; a spec that differs in anything gets its own.
/// </summary>
public sealed class CompiledSpecCacheTests
{
    private const string Spec = "using KernelDsl;\n[Attention(HeadDim = 64)]\n[Precision(DType.FP16)]\n[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]\npublic static partial class CacheSpec;";

    [Fact]
    public void An_equal_spec_from_a_new_parse_reuses_the_compiled_output()
    {
        var first = GeneratorHarness.Model(Spec).Spec!;
        var second = GeneratorHarness.Model(Spec).Spec!;
        ReferenceEquals(first, second).ShouldBeFalse("two parses make two spec instances");

        ReferenceEquals(CompiledSpecCache.Compile(first), CompiledSpecCache.Compile(second)).ShouldBeTrue();
    }

    [Fact]
    public void A_spec_that_differs_compiles_on_its_own()
    {
        var causal = GeneratorHarness.Model(Spec).Spec!;
        var topLeft = GeneratorHarness.Model(Spec.Replace("BottomRight", "TopLeft")).Spec!;

        var causalOutput = CompiledSpecCache.Compile(causal);
        var topLeftOutput = CompiledSpecCache.Compile(topLeft);

        ReferenceEquals(causalOutput, topLeftOutput).ShouldBeFalse();
        causalOutput.ShouldNotBe(topLeftOutput);
    }
}
