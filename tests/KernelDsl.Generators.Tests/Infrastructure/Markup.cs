using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace KernelDsl.Generators.Tests.Infrastructure;

/// <summary>
/// Test sources with the expected diagnostic spans marked: <c>[Attention([|HeadDim = 12|])]</c>. Markers are
/// removed from the source; their spans are returned in order. Markers do not nest.
/// </summary>
internal sealed record Markup(string Source, IReadOnlyList<TextSpan> Spans)
{
    public const string Open = "[|";
    public const string Close = "|]";

    public static Markup Parse(string markup)
    {
        var source = new StringBuilder();
        var spans = new List<TextSpan>();
        int start = -1;
        for (int i = 0; i < markup.Length; i++)
        {
            if (string.CompareOrdinal(markup, i, Open, 0, 2) == 0 && start < 0)
            {
                start = source.Length;
                i++;
            }
            else if (string.CompareOrdinal(markup, i, Close, 0, 2) == 0 && start >= 0)
            {
                spans.Add(TextSpan.FromBounds(start, source.Length));
                start = -1;
                i++;
            }
            else
            {
                source.Append(markup[i]);
            }
        }

        return new Markup(source.ToString(), spans);
    }
}
