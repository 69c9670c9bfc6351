using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace KernelDsl.Generators.Tests.Fuzzing;

/// <summary>One edit of a spec's source: what to do, which occurrence (wrapped to the count present), which replacement.</summary>
public readonly record struct Mutation(int Kind, int Where, int What)
{
    public override string ToString() => $"{SpecMutator.KindNames[Kind % SpecMutator.KindNames.Length]}@{Where}/{What}";
}

/// <summary>
/// Applies <see cref="Mutation"/>s to a spec's C# source at the token level: each edit is a plain function of its three
/// ints, so CsCheck can generate and shrink them, and a failing case replays from its printed mutations. The edits aim
/// where the generator reads: attribute arguments (numbers, enums, named arguments it does or does not know), captured
/// dims, names (non-ASCII), modifier bodies (huge, deep, odd constructs), and plain token damage.
/// </summary>
public static class SpecMutator
{
    public static readonly string[] KindNames =
    {
        "int", "enum", "named-arg", "delete", "duplicate", "non-ascii", "string", "modifier", "swap", "operator",
    };

    private static readonly string[] Ints =
    {
        "0", "-1", "1", "3", "7", "16", "17", "32", "48", "63", "64", "65", "96", "128", "192", "255", "256", "257", "512",
        "1024", "65535", "65536", "int.MaxValue", "int.MinValue", "2147483647", "-2147483648", "1.5", "1e30", "null", "\"64\"",
    };

    private static readonly string[] EnumValues =
    {
        "DType.FP16", "DType.BF16", "DType.FP32", "(DType)7", "(DType)(-1)", "MaskKind.None", "MaskKind.Causal", "MaskKind.SlidingWindow",
        "(MaskKind)9", "MaskAlignment.TopLeft", "MaskAlignment.BottomRight", "(MaskAlignment)5", "TensorLayout.BSHD", "TensorLayout.BHSD",
        "(TensorLayout)3", "DType.FP64", "default", "Foo.Bar",
    };

    private static readonly string[] NamedArguments =
    {
        "WriteLse = true", "HeadDim = 64", "HeadDim = 0", "ValueHeadDim = 32", "Scale = 0.125", "Scale = double.NaN", "Scale = -1",
        "Alignment = MaskAlignment.TopLeft", "Left = 3", "Right = -5", "BlockQ = 64", "BlockKV = 7", "BlockQ = 1 << 20",
        "OutputType = DType.FP32", "OutputType = (DType)9", "Foo = 1", "Kind = MaskKind.Causal", "Input = DType.BF16",
        "MaxQueriesPerSequence = 16", "MaxQueriesPerSequence = 0", "PageSize = 48", "PageSize = 257",
    };

    private static readonly string[] Strings =
    {
        "null", "\"\"", "\"0\"", "\"-1\"", "\"B\"", "\"Hq\"", "\"Hkv\"", "\"Sq\"", "\"Skv\"", "\"b\"", "\"2147483647\"", "\"2147483648\"",
        "\"65536\", \"65536\", \"65536\", \"65536\"", "\"4\", \"5\", \"5581\", \"8681\", \"49477\", \"384773\"", "\"Hq\", null", "\"１２\"",
    };

    private static readonly string[] NonAsciiNames = { "Größe", "Modèles", "Внимание", "注意力", "Ÿ_ÿ", "café" };

    private static readonly string[] Operators = { "+", "-", "*", "/", "%", "<", "<=", ">", "==", "!=", "&&", "||", "?", ":", "!", "~", "<<", "^", "&", "??" };

    /// <summary>Whole modifier methods added to the spec class: ordinary, unsupported constructs, and too large or too deep bodies.</summary>
    private static readonly Func<string>[] Modifiers =
    {
        () => "[ScoreMod] static float Sm(float score) => score * 0.5f;",
        () => "[MaskMod] static bool Mm(int q, int kv) => q >= kv;",
        () => "[ScoreMod] static float Sm(float score, int b, int h, int q, int kv) { var d = q - kv; return score - MathF.Abs(d) * (h + 1) / 8f + b; }",
        () => "[MaskMod] static bool Mm(int b, int h, int q, int kv, [Captured(\"Skv\")] ReadOnlySpan<int> docs) => docs[q] == docs[kv];",
        () => "[ScoreMod] static float Sm(float score, int h, [Captured(\"Hq\", \"8\")] ReadOnlySpan<float> table) => score + table[h * 8];",
        () => "[ScoreMod] static float Sm(float score, [Captured(null)] ReadOnlySpan<float> t) => score + t[0];",
        () => "[ScoreMod] static float Sm(float score, [Captured(\"65536\", \"65536\", \"65536\", \"65536\")] ReadOnlySpan<float> t) => score + t[0];",
        () => "[ScoreMod] static float Sm(float score) { for (int i = 0; i < 3; i++) score += i; return score; }",
        () => "[ScoreMod] static float Sm(float score) => score switch { > 0 => 1f, _ => 0f };",
        () => "[ScoreMod] static float Sm(float score) => (float)Math.Pow(score, score);",
        () => "[ScoreMod] static float Sm(float score) => throw null;",
        () => "[ScoreMod] static float Sm(float score) => checked(score + 1);",
        () => "[ScoreMod] static float Sm(float score) => Helper(score); static float Helper(float x) => x;",
        () => "[ScoreMod] static float Sm(float score) => " + Sum(60) + ";",
        () => "[ScoreMod] static float Sm(float score) => " + Sum(5000) + ";",
        () => "[ScoreMod] static float Sm(float score, int q) => " + Nested(2000) + ";",
        () => "[MaskMod] static bool Mm(int q, int kv) => " + string.Join(" && ", Enumerable.Range(0, 3000).Select(i => $"q != {i}")) + ";",
        () => "[ScoreMod] static float Sm(float score) => " + new string('(', 1500) + "score" + new string(')', 1500) + ";",
        () => "[ScoreMod] static int Sm(float score) => 1;",
        () => "[MaskMod] static bool Mm(ref int q, int kv) => true;",
        () => "[ScoreMod] static float Sm(float score, int Größe) => score + Größe;",
        () => "[ScoreMod] static float Sm(float score, int h, [Captured(\"Hq\")] ReadOnlySpan<float> pénalité) { var écart = pénalité[h]; return score - écart; }",
    };

    private static string Sum(int terms) => "score" + string.Concat(Enumerable.Range(0, terms).Select(i => " + " + (i % 9) + "f"));

    private static string Nested(int depth) => string.Concat(Enumerable.Range(0, depth).Select(i => $"q > {i} ? score * {i}f : ")) + "score";

    public static string Apply(string source, IEnumerable<Mutation> mutations)
    {
        foreach (var mutation in mutations)
        {
            source = Apply(source, mutation);
        }

        return source;
    }

    public static string Apply(string source, Mutation mutation)
    {
        var tokens = CSharpSyntaxTree.ParseText(source).GetRoot().DescendantTokens(descendIntoTrivia: false).ToList();
        var edits = new string?[tokens.Count]; // replacement full text per token (null: unchanged)
        int where = Math.Abs(mutation.Where);
        int what = Math.Abs(mutation.What);
        List<int> Where(Func<SyntaxToken, int, bool> predicate) => Enumerable.Range(0, tokens.Count).Where(i => predicate(tokens[i], i)).ToList();
        bool InAttribute(SyntaxToken token) => token.Parent?.AncestorsAndSelf().Any(node => node.IsKind(SyntaxKind.AttributeList)) == true;
        void Replace(List<int> candidates, Func<SyntaxToken, string> text)
        {
            if (candidates.Count > 0)
            {
                int i = candidates[where % candidates.Count];
                edits[i] = tokens[i].LeadingTrivia.ToFullString() + text(tokens[i]) + tokens[i].TrailingTrivia.ToFullString();
            }
        }

        switch (mutation.Kind % KindNames.Length)
        {
            case 0:
                Replace(Where((t, _) => t.IsKind(SyntaxKind.NumericLiteralToken)), _ => Ints[what % Ints.Length]);
                break;
            case 1:
                Replace(Where((t, i) => t.IsKind(SyntaxKind.IdentifierToken) && i > 1 && tokens[i - 1].IsKind(SyntaxKind.DotToken)
                    && tokens[i - 2].ValueText is "DType" or "MaskKind" or "MaskAlignment" or "TensorLayout"), _ => "X");
                if (edits.Any(e => e is not null))
                {
                    // Replace "Enum.Member" as a whole: blank the enum name and the dot, put the new text on the member.
                    int i = Array.FindIndex(edits, e => e is not null);
                    edits[i - 2] = tokens[i - 2].LeadingTrivia.ToFullString();
                    edits[i - 1] = string.Empty;
                    edits[i] = EnumValues[what % EnumValues.Length] + tokens[i].TrailingTrivia.ToFullString();
                }

                break;
            case 2:
                Replace(Where((t, _) => t.IsKind(SyntaxKind.CloseParenToken) && t.Parent.IsKind(SyntaxKind.AttributeArgumentList)),
                    t => ", " + NamedArguments[what % NamedArguments.Length] + ")");
                Replace(edits.All(e => e is null) ? Where((t, _) => t.IsKind(SyntaxKind.IdentifierToken) && t.Parent.IsKind(SyntaxKind.IdentifierName) && t.Parent!.Parent.IsKind(SyntaxKind.Attribute)) : new List<int>(),
                    t => t.ValueText + "(" + NamedArguments[what % NamedArguments.Length] + ")");
                break;
            case 3:
                Replace(Where((t, _) => !t.IsKind(SyntaxKind.EndOfFileToken)), _ => string.Empty);
                break;
            case 4:
                Replace(Where((t, _) => !t.IsKind(SyntaxKind.EndOfFileToken)), t => t.Text + " " + t.Text);
                break;
            case 5:
                Replace(Where((t, _) => t.IsKind(SyntaxKind.IdentifierToken) && (t.Parent.IsKind(SyntaxKind.ClassDeclaration)
                    || t.Parent?.Parent is Microsoft.CodeAnalysis.CSharp.Syntax.BaseNamespaceDeclarationSyntax
                    || t.Parent.IsKind(SyntaxKind.MethodDeclaration))), t => NonAsciiNames[what % NonAsciiNames.Length]);
                break;
            case 6:
                Replace(Where((t, _) => t.IsKind(SyntaxKind.StringLiteralToken) && InAttribute(t)), _ => Strings[what % Strings.Length]);
                break;
            case 7:
                Replace(Where((t, _) => t.IsKind(SyntaxKind.CloseBraceToken) && t.Parent.IsKind(SyntaxKind.ClassDeclaration)),
                    _ => Modifiers[what % Modifiers.Length]() + "\n}");
                Replace(edits.All(e => e is null) ? Where((t, i) => t.IsKind(SyntaxKind.SemicolonToken) && t.Parent.IsKind(SyntaxKind.ClassDeclaration)) : new List<int>(),
                    _ => "\n{\n" + Modifiers[what % Modifiers.Length]() + "\n}");
                break;
            case 8:
                if (tokens.Count > 2)
                {
                    int a = where % (tokens.Count - 1), b = what % (tokens.Count - 1);
                    edits[a] = tokens[b].ToFullString();
                    edits[b] = tokens[a].ToFullString();
                }

                break;
            default:
                Replace(Where((t, _) => SyntaxFacts.IsBinaryExpressionOperatorToken(t.Kind()) || t.IsKind(SyntaxKind.QuestionToken)),
                    _ => Operators[what % Operators.Length]);
                break;
        }

        var text = new StringBuilder(source.Length + 64);
        for (int i = 0; i < tokens.Count; i++)
        {
            text.Append(edits[i] ?? tokens[i].ToFullString());
        }

        return text.ToString();
    }
}
