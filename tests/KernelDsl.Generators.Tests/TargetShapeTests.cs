using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// Where a spec class may live — static or not, nested, in no namespace, a block or file-scoped namespace, a
/// record, inside a generic type, named like a keyword — the generated partial reopens it correctly: the user's
/// code plus every generated file compile without errors.
/// </summary>
public sealed class TargetShapeTests
{
    private const string Using = "using KernelDsl;\n";

    [Theory]
    [InlineData("[Attention(HeadDim = 64)]\npublic static partial class S;", "S")]
    [InlineData("[Attention(HeadDim = 64)]\npublic partial class S { }", "S")]
    [InlineData("[Attention(HeadDim = 64)]\ninternal sealed partial class S { private readonly int _x = 1; public int X => _x; }", "S")]
    [InlineData("[Attention(HeadDim = 64)]\npublic abstract partial class S { }", "S")]
    [InlineData("namespace A.B;\n[Attention(HeadDim = 64)]\npublic static partial class S;", "A.B.S")]
    [InlineData("namespace A.B { namespace C { [Attention(HeadDim = 64)] public static partial class S; } }", "A.B.C.S")]
    [InlineData("namespace A;\npublic static partial class Outer { [Attention(HeadDim = 64)] private static partial class S; }", "A.Outer.S")]
    [InlineData("public partial struct Outer { public partial record Mid { [Attention(HeadDim = 64)] internal partial class S; } }", "Outer.Mid.S")]
    [InlineData("public partial record struct Outer(int X) { [Attention(HeadDim = 64)] public static partial class S; }", "Outer.S")]
    [InlineData("public partial interface IOuter { [Attention(HeadDim = 64)] public static partial class S; }", "IOuter.S")]
    [InlineData("public partial class Outer<T> where T : struct { [Attention(HeadDim = 64)] public static partial class S; }", "Outer<T>.S")]
    [InlineData("[Attention(HeadDim = 64)]\npublic partial record R(int X);", "R")]
    [InlineData("[Attention(HeadDim = 64)]\npublic static partial class @class;", "@class")]
    [InlineData("namespace @namespace;\n[Attention(HeadDim = 64)]\npublic static partial class S;", "@namespace.S")]
    public void The_generated_partial_reopens_the_class(string body, string fullName)
    {
        var (result, output) = GeneratorHarness.RunWithOutput(Using + body);
        result.Diagnostics.ShouldBeEmpty();
        GeneratorHarness.Models(result).Single().Spec!.Target.FullName.ShouldBe(fullName);
        result.GeneratedTrees.ShouldNotBeEmpty();

        var errors = output.GetDiagnostics()
            .Where(diagnostic => diagnostic.Severity == DiagnosticSeverity.Error)
            .Select(diagnostic => diagnostic.ToString())
            .ToArray();
        errors.ShouldBeEmpty();
    }

    [Fact]
    public void Several_specs_in_one_file_each_get_their_files()
    {
        var result = GeneratorHarness.Run(Using + "namespace N;\n[Attention(HeadDim = 64)] public static partial class A;\n[Attention(HeadDim = 128)] public static partial class B;\n");
        GeneratorHarness.Models(result).Select(model => model.Spec!.Target.FullName).ShouldBe(new[] { "N.A", "N.B" });
        result.Results.Single().GeneratedSources.Select(file => file.HintName).ShouldContain("N.A.g.cs");
        result.Results.Single().GeneratedSources.Select(file => file.HintName).ShouldContain("N.B.g.cs");
    }

    [Fact]
    public void Hint_names_with_characters_roslyn_rejects_are_made_safe()
    {
        // Outer<T>.S would make "Outer<T>.S.g.cs", which AddSource refuses with an exception.
        var result = GeneratorHarness.Run(Using + "public partial class Outer<T> { [Attention(HeadDim = 64)] public static partial class S; }");
        result.Results.Single().GeneratedSources.Select(file => file.HintName).ShouldAllBe(name => !name.Contains('<') && !name.Contains('>'));
    }
}
