using System.Text;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelDsl.Generators.Reporting;

/// <summary>Adds the compiler's files to the compilation.</summary>
internal static class SourceWriter
{
    public static void Add(SourceProductionContext context, EquatableArray<GeneratedFile> files)
    {
        foreach (var file in files)
        {
            context.AddSource(HintName(file.HintName), SourceText.From(file.Text, Encoding.UTF8));
        }
    }

    /// <summary>
    /// Roslyn throws for hint names with characters outside a small set (a nested spec in a generic type gives
    /// "Outer&lt;T&gt;.Spec.g.cs"); mapping the rest to '_' keeps the generator from throwing.
    /// </summary>
    public static string HintName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            builder.Append(char.IsLetterOrDigit(c) || c is '.' or '_' or '-' or ',' or '+' or '(' or ')' or '[' or ']' or '{' or '}' ? c : '_');
        }

        return builder.ToString();
    }
}
