using System.Linq;
using Microsoft.CodeAnalysis;
using Shouldly;

namespace KernelDsl.Generators.Tests.Infrastructure;

/// <summary>
/// Runs the generator on marked-up source and checks its diagnostics exactly: the IDs, in marker order, each on
/// the text its marker encloses — and nothing else.
/// </summary>
internal static class DiagnosticAssert
{
    public static Diagnostic[] Expect(string markup, params string[] ids)
    {
        var parsed = Markup.Parse(markup);
        parsed.Spans.Count.ShouldBe(ids.Length, "each expected ID needs one [| |] marker");

        var diagnostics = GeneratorHarness.Run(parsed.Source).Diagnostics.ToArray();
        var actual = diagnostics.Select(diagnostic => Describe(diagnostic, parsed.Source)).OrderBy(text => text).ToArray();
        var expected = ids.Select((id, i) => $"{id} at '{parsed.Source.Substring(parsed.Spans[i].Start, parsed.Spans[i].Length)}' ({GeneratorHarness.FileName(0)})")
            .OrderBy(text => text)
            .ToArray();
        actual.ShouldBe(expected, string.Join("\n", diagnostics.Select(diagnostic => diagnostic.ToString())));
        return diagnostics;
    }

    /// <summary>"KDSL0002 at 'HeadDim = 12' (Spec0.cs)".</summary>
    public static string Describe(Diagnostic diagnostic, string source)
    {
        var span = diagnostic.Location.SourceSpan;
        string text = span.End <= source.Length ? source.Substring(span.Start, span.Length) : "<out of range>";
        return $"{diagnostic.Id} at '{text}' ({diagnostic.Location.GetLineSpan().Path})";
    }
}
