using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// The size limit on a modifier body, checked before it is translated (KDSL0032 at the method's name). The
/// translator and both expression writers recurse over the expression, and the PTX inlines the body at every score
/// element of every kernel (about 17 KB of generated source per syntax node, measured), so an unbounded body overflowed
/// the compiler's stack (5,000 terms) or produced tens of megabytes of PTX (a 1,000-deep <c>?:</c>: 58 MB).
/// At <see cref="MaxSyntaxNodes"/> the generator's recursion stays a few hundred frames deep and its output a few
/// megabytes; the library's largest modifier (T5's bucketed bias) has about a third of that.
/// </summary>
internal static class ModifierSize
{
    public const int MaxSyntaxNodes = 256;

    /// <returns>False after reporting KDSL0032: the body is not to be translated.</returns>
    public static bool Check(MethodDeclarationSyntax declaration, List<LocatedDiagnostic> diagnostics)
    {
        SyntaxNode? body = (SyntaxNode?)declaration.Body ?? declaration.ExpressionBody;
        if (body is null)
        {
            return true;
        }

        // DescendantNodes walks with an explicit stack, so counting a body of any depth is safe.
        int count = 0;
        foreach (var _ in body.DescendantNodes())
        {
            count++;
        }

        if (count <= MaxSyntaxNodes)
        {
            return true;
        }

        diagnostics.Add(LocatedDiagnostic.Create(
            DiagnosticCatalog.ModifierTooLarge, LocationInfo.From(declaration.Identifier), declaration.Identifier.ValueText,
            count.ToString(System.Globalization.CultureInfo.InvariantCulture), MaxSyntaxNodes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return false;
    }
}
