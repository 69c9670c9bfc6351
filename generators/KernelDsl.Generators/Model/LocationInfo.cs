using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelDsl.Generators.Model;

/// <summary>
/// Where a piece of syntax is, as plain values: a file path, a text span and a line span. Models keep this
/// instead of a <see cref="Location"/> (which holds its syntax tree, and through it the compilation alive).
/// </summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo From(SyntaxNode node) => From(node.GetLocation());

    public static LocationInfo From(SyntaxToken token) => From(token.GetLocation());

    public static LocationInfo From(Location location) =>
        new(location.SourceTree?.FilePath ?? string.Empty, location.SourceSpan, location.GetLineSpan().Span);

    /// <summary>A location the diagnostic can be reported at (an external-file location: same span, no tree).</summary>
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);
}
