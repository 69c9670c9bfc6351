using System.Globalization;
using System.Text;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Accumulates PTX text: instructions, comments, labels and <c>{ }</c> register scopes, with indentation.
/// Builders use scopes for their temporaries so each stage declares what it needs next to where it is used.
/// </summary>
internal sealed class PtxWriter
{
    private readonly StringBuilder _text = new();
    private readonly System.Collections.Generic.HashSet<string> _labels = new(System.StringComparer.Ordinal);
    private int _indent;
    private string _guard = string.Empty;

    /// <summary>Records a label name, which must be new in this kernel (Construction.PtxWriterLabels.NewLabel).</summary>
    public void ClaimLabel(string name)
    {
        if (!_labels.Add(name))
        {
            throw new System.InvalidOperationException("label " + name + " is defined twice");
        }
    }

    public void Raw(string line) => _text.Append(line).Append('\n');

    public void Blank() => _text.Append('\n');

    public void Ins(string instruction) => _text.Append(' ', 4 * (_indent + 1)).Append(_guard).Append(instruction).Append(";\n");

    /// <summary>
    /// Guards every instruction written until the result is disposed with <paramref name="predicate"/>
    /// (<c>@%p</c> or <c>@!%p</c>, as spelled by the caller; Construction.PtxOps.When/Unless); guards do not nest.
    /// </summary>
    public System.IDisposable Guarded(string predicate)
    {
        if (_guard.Length != 0)
        {
            throw new System.InvalidOperationException("guards do not nest: " + _guard + "is open");
        }

        _guard = "@" + predicate + " ";
        return new Unguard(this);
    }

    public void Comment(string text) => _text.Append(' ', 4 * (_indent + 1)).Append("// ").Append(text).Append('\n');

    /// <summary>A stage banner: the algorithm step the following instructions implement.</summary>
    public void Stage(string title)
    {
        Blank();
        Comment("==== " + title);
    }

    public void Label(string name) => _text.Append(' ', 4 * _indent).Append(name).Append(":\n");

    /// <summary>Opens a register scope; dispose to close it.</summary>
    public System.IDisposable Scope()
    {
        _text.Append(' ', 4 * (_indent + 1)).Append("{\n");
        _indent++;
        return new Closer(this);
    }

    public override string ToString() => _text.ToString();

    private sealed class Unguard : System.IDisposable
    {
        private readonly PtxWriter _writer;

        public Unguard(PtxWriter writer) => _writer = writer;

        public void Dispose() => _writer._guard = string.Empty;
    }

    private sealed class Closer : System.IDisposable
    {
        private readonly PtxWriter _writer;

        public Closer(PtxWriter writer) => _writer = writer;

        public void Dispose()
        {
            _writer._indent--;
            _writer._text.Append(' ', 4 * (_writer._indent + 1)).Append("}\n");
        }
    }
}

/// <summary>PTX spellings of literal values.</summary>
internal static class PtxLiteral
{
    /// <summary>A float as PTX's exact hexadecimal form, e.g. <c>0f3FB8AA3B</c>.</summary>
    public static string F32(double value)
    {
        int bits = System.BitConverter.ToInt32(System.BitConverter.GetBytes((float)value), 0);
        return "0f" + bits.ToString("X8", CultureInfo.InvariantCulture);
    }

    /// <summary>A double as PTX's exact hexadecimal form, e.g. <c>0d3FF0000000000000</c>.</summary>
    public static string F64(double value) =>
        "0d" + System.BitConverter.DoubleToInt64Bits(value).ToString("X16", CultureInfo.InvariantCulture);

    public const string NegInf = "0fFF800000";

    public const string Zero = "0f00000000";

    public static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A register list like <c>{%o0, %o1, %o2, %o3}</c>.</summary>
    public static string List(string prefix, int first, int count)
    {
        var s = new StringBuilder("{");
        for (int i = 0; i < count; i++)
        {
            s.Append(i == 0 ? string.Empty : ", ").Append(prefix).Append((first + i).ToString(CultureInfo.InvariantCulture));
        }

        return s.Append('}').ToString();
    }
}
