using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>KDSL0031: a project without AllowUnsafeBlocks gets one error per spec at [Attention], not CS0227 in obj/.</summary>
public sealed partial class DiagnosticTests
{
    private const string UnsafeSpec = Using + "[[|Attention(HeadDim = 64)|]]\n[Precision(DType.FP16)]\npublic static partial class Plain;";

    [Fact]
    public void KDSL0031_unsafe_code_off_is_reported_at_the_attention_attribute()
    {
        var markup = Markup.Parse(UnsafeSpec);
        var (result, _) = RunWithoutUnsafe(markup.Source);

        var diagnostic = result.Diagnostics.ShouldHaveSingleItem();
        diagnostic.Id.ShouldBe("KDSL0031");
        diagnostic.Severity.ShouldBe(DiagnosticSeverity.Error);
        diagnostic.GetMessage().ShouldContain("'Plain' needs unsafe code");
        diagnostic.GetMessage().ShouldContain("<AllowUnsafeBlocks>true</AllowUnsafeBlocks>");
        diagnostic.Location.SourceSpan.ShouldBe(markup.Spans.Single());
    }

    [Fact]
    public void KDSL0031_unsafe_code_off_adds_no_source_so_no_error_lands_in_generated_files()
    {
        var (result, output) = RunWithoutUnsafe(Markup.Parse(UnsafeSpec).Source);

        result.GeneratedTrees.ShouldBeEmpty();
        output.GetDiagnostics().Where(diagnostic => diagnostic.Severity == DiagnosticSeverity.Error).ShouldBeEmpty();
    }

    [Fact]
    public void KDSL0031_is_not_reported_when_unsafe_code_is_allowed()
    {
        var result = GeneratorHarness.Run(Markup.Parse(UnsafeSpec).Source);

        result.Diagnostics.ShouldBeEmpty();
        result.GeneratedTrees.ShouldNotBeEmpty();
    }

    private static (GeneratorDriverRunResult Result, Compilation Output) RunWithoutUnsafe(string source)
    {
        var compilation = GeneratorHarness.Compilation(source);
        compilation = compilation.WithOptions(((CSharpCompilationOptions)compilation.Options).WithAllowUnsafe(false));
        var driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var result = driver.GetRunResult();
        GeneratorHarness.ShouldNotHaveThrown(result);
        return (result, output);
    }
}
