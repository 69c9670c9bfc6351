using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// Garbage in, diagnostics out — never an exception (the harness checks every run's Exception). Arguments
/// that C# itself rejects still get a KDSL0010 on the argument, saying what to write.
/// </summary>
public sealed class MalformedInputTests
{
    private const string Using = "using KernelDsl;\n";

    [Theory]
    [InlineData("[Attention([|HeadDim = \"x\"|])]")]                              // wrong type
    [InlineData("[Attention([|HeadDim = Foo|])]")]                                // unresolved name
    [InlineData("[Attention([|HeadDim = int.Parse(\"3\")|])]")]                   // not a constant
    [InlineData("[Attention([|HeadDim = null|])]")]                               // null
    [InlineData("[Attention([|HeadDim = 64.0|])]")]                               // double to int: no implicit conversion, though Roslyn binds 64
    [InlineData("[Attention(HeadDim = 64, [|HeadDim = 32|])]")]                   // repeated
    [InlineData("[Attention(HeadDim = 64, [|Foo = 1|])]")]                        // unknown property
    [InlineData("[Attention(HeadDim = 64, [|Scale = \"big\"|])]")]
    [InlineData("[Attention(HeadDim = 64, [|Scale = 1 / 0|])]")]                  // constant error
    [InlineData("[Attention([|64|])]")]                                           // positional where only named exist
    [InlineData("[Attention(HeadDim = 64)] [[|Precision|]]")]                    // constructor argument missing
    [InlineData("[Attention(HeadDim = 64)] [Precision([|7|])]")]                 // int where an enum is needed
    [InlineData("[Attention(HeadDim = 64)] [Precision([|\"bf16\"|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Precision([|(DType)7|])]")]          // enum out of range
    [InlineData("[Attention(HeadDim = 64)] [Precision([|(DType)(-1)|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Precision([|DType.FP64|])]")]        // no such member
    [InlineData("[Attention(HeadDim = 64)] [Precision([|input: (DType)5|])]")]   // constructor argument by name
    [InlineData("[Attention(HeadDim = 64)] [Layout([|(TensorLayout)DType.BF16|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Layout([|DType.BF16|])]")]           // another enum
    [InlineData("[Attention(HeadDim = 64)] [Mask(MaskKind.Causal, [|Alignment = (MaskAlignment)9|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Mask(MaskKind.Causal, [|MaskKind.None|], Alignment = MaskAlignment.TopLeft)]")]
    [InlineData("[Attention(HeadDim = 64)] [Mask([|Foo.Bar|], Left = 3)]")]
    [InlineData("[Attention(HeadDim = 64)] [Mask(MaskKind.SlidingWindow, [|Left = 1L|], Alignment = MaskAlignment.TopLeft)]")]
    [InlineData("[Attention(HeadDim = 64)] [Precision(DType.FP16, [|WriteLse = true|])]")]   // named argument on an attribute with none (threw IndexOutOfRange)
    [InlineData("[Attention(HeadDim = 64)] [Layout(TensorLayout.BHSD, [|Foo = 1|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Tiling([|BlockQ = 1.5|])]")]         // Roslyn binds this as 1
    [InlineData("[Attention(HeadDim = 64)] [Tiling([|64|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Fusion([|WriteLse = 1|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Fusion([|OutputType = null|])]")]
    [InlineData("[Attention(HeadDim = 64)] [Fusion([|OutputType = (DType)3|])]")]
    public void An_unreadable_argument_gives_KDSL0010_at_that_argument(string attributes) =>
        DiagnosticAssert.Expect(Using + attributes + "\npublic static partial class S;", "KDSL0010");

    [Fact]
    public void A_named_argument_on_Precision_says_it_takes_none()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)] [Precision(DType.FP16, [|WriteLse = true|])]\npublic static partial class S;", "KDSL0010").Single();
        diagnostic.GetMessage().ShouldContain("[Precision] takes no named arguments; write it as [Precision(DType.BF16)]");
    }

    [Fact]
    public void Every_unreadable_argument_is_reported() =>
        DiagnosticAssert.Expect(
            Using + "[Attention([|HeadDim = \"a\"|], [|Scale = true|])]\n[Tiling([|BlockQ = 'x' + 0.5|], [|BlockKV = \"1\"|])]\npublic static partial class S;",
            "KDSL0010", "KDSL0010", "KDSL0010", "KDSL0010");

    [Fact]
    public void An_unreadable_spec_generates_no_source()
    {
        var result = GeneratorHarness.Run(Using + "[Attention(HeadDim = \"x\")]\npublic static partial class S;");
        result.GeneratedTrees.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("[Attention(HeadDim = 64\npublic static partial class S { }")]                        // unclosed attribute
    [InlineData("[Attention(HeadDim = )]\npublic static partial class S { }")]                       // missing value
    [InlineData("[Attention(HeadDim = 64)]\npartial class { }")]                                     // missing name
    [InlineData("[Attention(HeadDim = 64)]\npartial class C<")]                                      // broken type parameters
    [InlineData("[Attention(HeadDim = 64)]\npartial class C : Missing, IAlsoMissing { }")]           // unresolved bases
    [InlineData("[Attention(HeadDim = 64)]")]                                                        // attribute on nothing
    [InlineData("[Attention(HeadDim = 64)]\npartial struct S { }")]                                  // not a class (C#'s CS0592)
    [InlineData("[Attention(HeadDim = 64)]\npartial interface I { }")]
    [InlineData("[Attention(HeadDim = 64)]\nenum E { A }")]
    [InlineData("[Attention(HeadDim = 64)][Attention(HeadDim = 32)]\npartial class C;")]             // repeated (CS0579)
    [InlineData("[Attention(HeadDim = 64)][Precision(DType.BF16)][Precision(DType.FP16)]\npartial class C;")]
    [InlineData("[Attention(HeadDim = 64)]\npartial class C;\n[Attention(HeadDim = 32)]\npartial class C;")]
    [InlineData("[Attention(HeadDim = 64)]\npartial class C { [Attention(HeadDim = 128)] partial class D; }")]
    [InlineData("[Attention(HeadDim = 64)]\npartial class C { void M() { int x = ; } }")]            // broken body
    [InlineData("[Attention(HeadDim = 64, Scale = )]\npartial class C;")]
    [InlineData("[Attention(HeadDim = 64)] [Mask(]\npartial class C;")]
    [InlineData("[Attention(HeadDim = 64)] [Mask(MaskKind.Causal, Alignment = )]\npartial class C;")]
    [InlineData("[Atention(HeadDim = 64)]\npartial class C;")]                                        // unresolved attribute
    [InlineData("[Attention(HeadDim = int.MaxValue, ValueHeadDim = int.MinValue, Scale = double.MaxValue)]\npartial class C;")]
    [InlineData("[Attention(HeadDim = 64)][Tiling(BlockQ = int.MinValue, BlockKV = int.MaxValue)]\npartial class C;")]
    [InlineData("[Attention(HeadDim = 64)][Mask(MaskKind.SlidingWindow, Left = int.MinValue, Right = int.MaxValue, Alignment = MaskAlignment.TopLeft)]\npartial class C;")]
    [InlineData("namespace\n[Attention(HeadDim = 64)]\npartial class C;")]                           // broken namespace
    [InlineData("class Outer<T> { [Attention(HeadDim = 64)] partial class C; }")]
    [InlineData("[Attention(HeadDim = 64)]\nfile partial class C;")]
    [InlineData("[Attention(HeadDim = 64)]\npartial class @class;")]
    [InlineData("\u0000\u0001[Attention(HeadDim = 64)]\u00ff\npartial class C;")]                    // binary noise
    public void Broken_source_never_throws(string body)
    {
        // The harness fails the test if the generator threw; each diagnostic it does report has a location.
        var result = GeneratorHarness.Run(Using + body);
        foreach (var diagnostic in result.Diagnostics)
        {
            diagnostic.Id.ShouldStartWith("KDSL");
        }
    }

    [Theory]
    [InlineData("[Attention(HeadDim = 64)]\npartial class { }")]
    [InlineData("namespace\n[Attention(HeadDim = 64)]\npartial class C;")]
    [InlineData("partial class { [Attention(HeadDim = 64)] partial class C; }")]
    public void A_class_without_a_name_generates_nothing(string body) =>
        GeneratorHarness.Run(Using + body).GeneratedTrees.ShouldBeEmpty();

    [Fact]
    public void A_tree_without_a_file_path_still_gets_located_diagnostics()
    {
        var compilation = GeneratorHarness.Compilation().AddSyntaxTrees(
            Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(Using + "[Attention(HeadDim = 12, ValueHeadDim = 64)]\npublic static partial class S;", GeneratorHarness.ParseOptions));
        var diagnostic = GeneratorHarness.Run(GeneratorHarness.Driver(), compilation).GetRunResult().Diagnostics.ShouldHaveSingleItem();
        diagnostic.Id.ShouldBe("KDSL0002");
        diagnostic.Location.SourceSpan.Length.ShouldBe("HeadDim = 12".Length);
    }

    [Fact]
    public void Attention_on_two_parts_of_one_class_generates_one_set_of_files()
    {
        var result = GeneratorHarness.Run(
            Using + "[Attention(HeadDim = 64)]\npublic static partial class S;",
            Using + "[Attention(HeadDim = 64)]\npublic static partial class S;");
        GeneratorHarness.Models(result).Count.ShouldBe(1);
    }

    [Fact]
    public void A_runtime_without_the_attributes_generates_nothing()
    {
        // The user's own KernelDsl.AttentionAttribute in a compilation that does reference the runtime is
        // ambiguous for C#; the generator still must not throw on it.
        var result = GeneratorHarness.Run(
            "namespace KernelDsl { public sealed class AttentionAttribute : System.Attribute { public string HeadDim { get; set; } = \"\"; } }\n"
            + "[KernelDsl.Attention(HeadDim = \"x\")]\npublic static partial class S;");
        foreach (var diagnostic in result.Diagnostics)
        {
            diagnostic.Id.ShouldStartWith("KDSL");
        }
    }
}
