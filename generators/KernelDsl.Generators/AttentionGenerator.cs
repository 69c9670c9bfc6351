using KernelDsl.Generators.Model;
using KernelDsl.Generators.Parsing;
using KernelDsl.Generators.Reporting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators;

/// <summary>
/// The Roslyn adapter: [Attention] classes → AttentionSpec → KernelDsl.Compiler → generated sources.
/// The pipeline only; parsing is in Parsing/, reporting in Reporting/.
/// <code>
/// [Attention] class ─Parse─► SpecModel ─CompileInput─► spec ─Compile─► output ─Files─► AddSource
///                                │                                        │
///                                └──────────── Diagnostics (all specs) ◄──┘ ─► ReportDiagnostic
/// </code>
/// Source depends on the spec alone, so moving a class or changing a diagnostic never re-emits source.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class AttentionGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var models = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ArgumentRules.MetadataName(ArgumentRules.Attention),
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                SpecParser.Parse)
            .WithTrackingName(TrackingNames.Parse)
            .Where(static model => model is not null)
            .Select(static (model, _) => model!);

        var outputs = models
            .Select(static (model, _) => new CompileInput(model.Spec, model.CanEmit))
            .WithTrackingName(TrackingNames.CompileInput)
            .Select(static (input, _) => SpecCompilation.Compile(input))
            .WithTrackingName(TrackingNames.Compile);

        var files = outputs
            .Select(static (output, _) => output.Files)
            .WithTrackingName(TrackingNames.Files);
        var unsafeAllowed = UnsafeCodeCheck.Allowed(context);
        context.RegisterSourceOutput(files.Combine(unsafeAllowed), static (production, pair) =>
        {
            if (pair.Right)
            {
                SourceWriter.Add(production, pair.Left);
            }
        });
        context.RegisterSourceOutput(
            models.Collect().Combine(unsafeAllowed).Select(static (pair, _) => UnsafeCodeCheck.Find(pair.Left, pair.Right)),
            DiagnosticReporter.Report);

        var diagnostics = models.Collect()
            .Combine(outputs.Collect())
            .Select(static (pair, _) => SpecCompilation.Locate(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, DiagnosticReporter.Report);

        foreach (var attribute in new[] { ArgumentRules.Precision, ArgumentRules.Layout, ArgumentRules.Mask, ArgumentRules.Tiling, ArgumentRules.Fusion, ArgumentRules.Backward })
        {
            var misplaced = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    ArgumentRules.MetadataName(attribute),
                    static (node, _) => node is TypeDeclarationSyntax,
                    (syntaxContext, _) => MisplacedAttributes.Find(syntaxContext, attribute))
                .WithTrackingName(TrackingNames.Misplaced);
            context.RegisterSourceOutput(misplaced, DiagnosticReporter.Report);
        }
    }
}
