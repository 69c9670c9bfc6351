using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace KernelDsl.Generators.Tests.Infrastructure;

/// <summary>
/// The generator's diagnostics checked by Microsoft.CodeAnalysis.Testing (the Roslyn SDK's test framework): the test
/// source marks each expected diagnostic with its ID around the exact text it must point at,
/// <c>[Attention({|KDSL0002:HeadDim = 12|})]</c>, and the framework fails on a missing, extra or misplaced one (ID,
/// file, line, column, severity). Same compilation as <see cref="GeneratorHarness"/>: the running framework's
/// assemblies and the KernelDsl runtime, unsafe code allowed, latest C#. Compiler diagnostics are not compared
/// (several specs here are also C# errors, e.g. HeadDim = "64"), nor the generated sources (the snapshot tests do that).
/// </summary>
internal sealed class GeneratorDiagnosticTest : CSharpSourceGeneratorTest<AttentionGenerator, DefaultVerifier>
{
    private GeneratorDiagnosticTest(string markup)
    {
        TestCode = markup;
        ReferenceAssemblies = new ReferenceAssemblies("net10.0"); // no reference pack: the references come next
        TestState.AdditionalReferences.AddRange(GeneratorHarness.References);
        CompilerDiagnostics = CompilerDiagnostics.None;
        TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck;
    }

    /// <summary>
    /// Runs the generator on <paramref name="markup"/> and compares its diagnostics with the markup's; returns them
    /// (in the order the framework matched them) for checks of their messages.
    /// </summary>
    public static async Task<IReadOnlyList<Diagnostic>> Run(string markup, params DiagnosticResult[] expected)
    {
        var test = new GeneratorDiagnosticTest(markup);
        test.ExpectedDiagnostics.AddRange(expected);
        var matched = new List<Diagnostic>();
        test.DiagnosticVerifier = (actual, _, _) => matched.Add(actual);
        await test.RunAsync();
        return matched;
    }

    protected override ParseOptions CreateParseOptions() => GeneratorHarness.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() =>
        ((CSharpCompilationOptions)base.CreateCompilationOptions()).WithAllowUnsafe(true).WithNullableContextOptions(NullableContextOptions.Enable);
}
