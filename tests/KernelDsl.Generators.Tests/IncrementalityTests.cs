using System.Collections.Generic;
using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// Roslyn's tracked steps after a second run on an edited compilation: edits that do not change a spec leave
/// its steps Cached or Unchanged (nothing recompiled, nothing re-emitted); edits that do change it re-run them.
/// </summary>
public sealed class IncrementalityTests
{
    private const string Spec = SpecSources.CausalFp16BottomRight;

    private static readonly string[] SpecSteps =
    {
        TrackingNames.Parse, TrackingNames.CompileInput, TrackingNames.Compile, TrackingNames.Files,
    };

    [Fact]
    public void Adding_an_unrelated_file_reruns_nothing()
    {
        var steps = RunTwice(Spec, compilation => compilation.AddSyntaxTrees(Parse("public static class Unrelated { public static int Answer() => 42; }", "Other.cs")));
        ShouldNotHaveRerun(steps, SpecSteps.Append(TrackingNames.Diagnostics));
    }

    [Fact]
    public void Changing_a_method_body_in_the_spec_file_reruns_nothing_after_parse()
    {
        const string withMethod = Spec + "\npublic static class Helpers { public static int Value() => 1; }\n";
        var steps = RunTwice(withMethod, compilation => Replace(compilation, withMethod, withMethod.Replace("=> 1;", "=> 2;")));
        ShouldNotHaveRerun(steps, SpecSteps.Append(TrackingNames.Diagnostics));
    }

    [Fact]
    public void Adding_an_unrelated_class_to_the_spec_file_reruns_nothing()
    {
        var steps = RunTwice(Spec, compilation => Replace(compilation, Spec, Spec + "\npublic sealed class Added { }\n"));
        ShouldNotHaveRerun(steps, SpecSteps.Append(TrackingNames.Diagnostics));
    }

    [Fact]
    public void Moving_the_spec_down_changes_locations_but_recompiles_and_re_emits_nothing()
    {
        var steps = RunTwice(Spec, compilation => Replace(compilation, Spec, "// a comment that moves everything\n\n" + Spec));
        Reasons(steps, TrackingNames.Parse).ShouldContain(IncrementalStepRunReason.Modified, "locations moved, so the model changed");
        ShouldNotHaveRerun(steps, new[] { TrackingNames.CompileInput, TrackingNames.Compile, TrackingNames.Files });
    }

    [Fact]
    public void Changing_the_spec_reruns_compile_and_emit()
    {
        // The control: the same check fails when the spec itself changes.
        var steps = RunTwice(Spec, compilation => Replace(compilation, Spec, Spec.Replace("HeadDim = 64", "HeadDim = 128")));
        Reasons(steps, TrackingNames.Compile).ShouldContain(IncrementalStepRunReason.Modified);
        Reasons(steps, TrackingNames.Files).ShouldContain(IncrementalStepRunReason.Modified);
    }

    [Fact]
    public void Fixing_a_diagnostic_reruns_the_diagnostics_step()
    {
        const string broken = "using KernelDsl;\n[Attention(HeadDim = 12)]\npublic static partial class S;";
        var steps = RunTwice(broken, compilation => Replace(compilation, broken, broken.Replace("12", "64")));
        Reasons(steps, TrackingNames.Diagnostics).ShouldContain(IncrementalStepRunReason.Modified);
    }

    private static IReadOnlyDictionary<string, System.Collections.Immutable.ImmutableArray<IncrementalGeneratorRunStep>> RunTwice(
        string source, System.Func<Compilation, Compilation> edit)
    {
        var compilation = GeneratorHarness.Compilation(source);
        var driver = GeneratorHarness.Run(GeneratorHarness.Driver(), compilation);
        driver = GeneratorHarness.Run(driver, edit(compilation));
        return driver.GetRunResult().Results.Single().TrackedSteps;
    }

    private static void ShouldNotHaveRerun(
        IReadOnlyDictionary<string, System.Collections.Immutable.ImmutableArray<IncrementalGeneratorRunStep>> steps, IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            var reasons = Reasons(steps, name);
            reasons.ShouldNotBeEmpty($"step {name} was not tracked");
            reasons.ShouldAllBe(reason => reason == IncrementalStepRunReason.Cached || reason == IncrementalStepRunReason.Unchanged, $"step {name}: {string.Join(", ", reasons)}");
        }
    }

    private static List<IncrementalStepRunReason> Reasons(
        IReadOnlyDictionary<string, System.Collections.Immutable.ImmutableArray<IncrementalGeneratorRunStep>> steps, string name) =>
        steps.TryGetValue(name, out var runs) ? runs.SelectMany(run => run.Outputs).Select(output => output.Reason).ToList() : new List<IncrementalStepRunReason>();

    private static Compilation Replace(Compilation compilation, string oldText, string newText)
    {
        var tree = compilation.SyntaxTrees.Single(candidate => candidate.ToString() == oldText);
        return compilation.ReplaceSyntaxTree(tree, Parse(newText, tree.FilePath));
    }

    private static SyntaxTree Parse(string text, string path) => CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, path);
}
