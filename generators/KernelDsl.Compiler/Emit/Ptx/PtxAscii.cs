using System.Text;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Makes emitted PTX pure ASCII. The driver's PTX JIT rejects any non-ASCII byte, even in a comment (CUDA 11.8's
/// ptxas accepts them, so CI alone would not notice), yet C# names may be any Unicode letter: <c>namespace Modèles</c>,
/// a buffer named <c>größe</c>. Every non-ASCII UTF-16 unit becomes <c>$uXXXX</c>. '$' is legal inside PTX identifiers
/// but never in a C# identifier, so an escaped name cannot collide with another name the user wrote, and since the
/// whole text is escaped the same way, a register's declaration and its uses still match.
/// </summary>
public static class PtxAscii
{
    public static string Escape(string ptx)
    {
        int first = 0;
        while (first < ptx.Length && ptx[first] < 128)
        {
            first++;
        }

        if (first == ptx.Length)
        {
            return ptx;
        }

        var escaped = new StringBuilder(ptx.Length + 16);
        escaped.Append(ptx, 0, first);
        for (int i = first; i < ptx.Length; i++)
        {
            char c = ptx[i];
            if (c < 128)
            {
                escaped.Append(c);
            }
            else
            {
                escaped.Append("$u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }
}
