using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Shouldly;

namespace KernelDsl.Generators.Tests.Infrastructure;

/// <summary>
/// Runs <see cref="AttentionGenerator"/> in memory: sources → compilation (the BCL and the KernelDsl runtime
/// referenced) → CSharpGeneratorDriver with step tracking on. Every run checks that the generator did not throw.
/// </summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    /// <summary>The running framework's System assemblies and the KernelDsl runtime (no reference pack is downloaded).</summary>
    public static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create(
            "Specs",
            sources.Select((source, index) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: FileName(index))),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>The file name the i-th source gets: "Spec0.cs", "Spec1.cs", ...</summary>
    public static string FileName(int index) => $"Spec{index}.cs";

    public static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create(
            new[] { new AttentionGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static GeneratorDriverRunResult Run(params string[] sources) => Run(Driver(), Compilation(sources)).GetRunResult();

    /// <summary>Runs the driver on a compilation and checks the generator did not throw.</summary>
    public static GeneratorDriver Run(GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGenerators(compilation);
        ShouldNotHaveThrown(driver.GetRunResult());
        return driver;
    }

    /// <summary>Runs and also returns the compilation with the generated trees added.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) RunWithOutput(params string[] sources)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(Compilation(sources), out var output, out _);
        var result = driver.GetRunResult();
        ShouldNotHaveThrown(result);
        return (result, output);
    }

    public static void ShouldNotHaveThrown(GeneratorDriverRunResult result)
    {
        foreach (var generator in result.Results)
        {
            generator.Exception.ShouldBeNull($"the generator threw: {generator.Exception}");
        }
    }

    /// <summary>The parse step's models (one per [Attention] class), from the tracked steps.</summary>
    public static IReadOnlyList<SpecModel> Models(GeneratorDriverRunResult result) =>
        result.Results.Single().TrackedSteps[TrackingNames.Parse]
            .SelectMany(step => step.Outputs)
            .Select(output => output.Value)
            .OfType<SpecModel>()
            .ToList();

    public static SpecModel Model(string source) => Models(Run(source)).Single();

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // The running framework's assemblies (the test host is net10.0, like the projects that use specs),
        // plus the KernelDsl runtime that declares the attributes.
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return platform
            .Where(path => Path.GetFileName(path).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(path) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(KernelDsl.AttentionAttribute).Assembly.Location)
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
    }
}
