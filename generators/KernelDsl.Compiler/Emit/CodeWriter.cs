using System;
using System.Text;

namespace KernelDsl.Compiler.Emit;

/// <summary>
/// Indented text writer for generated C#. Always writes '\n' line endings so output is byte-identical on
/// every OS.
/// </summary>
public sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public CodeWriter Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _indent * 4);
            _text.Append(line);
        }

        _text.Append('\n');
        return this;
    }

    /// <summary>Writes several lines (split on '\n'), each at the current indentation.</summary>
    public CodeWriter Lines(string lines)
    {
        foreach (var line in lines.Replace("\r\n", "\n").Split('\n'))
        {
            Line(line);
        }

        return this;
    }

    /// <summary>Writes <paramref name="header"/> (if any), then '{', and indents until the returned scope is disposed.</summary>
    public IDisposable Block(string header = "")
    {
        if (header.Length > 0)
        {
            Line(header);
        }

        Line("{");
        _indent++;
        return new Scope(this);
    }

    public override string ToString() => _text.ToString();

    private sealed class Scope : IDisposable
    {
        private readonly CodeWriter _writer;

        public Scope(CodeWriter writer) => _writer = writer;

        public void Dispose()
        {
            _writer._indent--;
            _writer.Line("}");
        }
    }
}
