using System.Collections.Generic;
using System.Text;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>The PTX register classes the kernels use.</summary>
internal enum RegKind
{
    /// <summary>One 16-bit element (f16/bf16 scalars: ld.b16, cvt.f32.f16/bf16).</summary>
    B16,
    B32,
    B64,
    F32,
    Pred,

    /// <summary>The modifier lowering's C# int (32-bit wrapping) and double.</summary>
    S32,
    F64,
}

/// <summary>
/// One register: its PTX name and class. Registers are made only by <see cref="PtxWriterRegisters.Declare"/>, which
/// also writes their <c>.reg</c> line, so a stage that uses a register holds the object it was given: it never
/// spells a name that another stage declared.
/// </summary>
internal sealed class Reg
{
    internal Reg(string name, RegKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    public RegKind Kind { get; }

    /// <summary>The predicate negated, for a guard (<c>@!%p</c>).</summary>
    public string Not => "!" + Name;

    public override string ToString() => Name;
}

/// <summary>A numbered register array <c>%name&lt;count&gt;</c>: element i is <c>%name{i}</c>.</summary>
internal sealed class RegArray
{
    internal RegArray(string prefix, int count, RegKind kind)
    {
        Prefix = prefix;
        Count = count;
        Kind = kind;
    }

    public string Prefix { get; }

    public int Count { get; }

    public RegKind Kind { get; }

    public Reg this[int index] => index >= 0 && index < Count
        ? new Reg(Prefix + I(index), Kind)
        : throw new System.ArgumentOutOfRangeException(nameof(index), Prefix + "<" + I(Count) + "> has no element " + I(index));

    /// <summary>A braced vector operand <c>{%a0, %a1, ...}</c> of <paramref name="count"/> elements from <paramref name="first"/>.</summary>
    public string Vector(int first, int count)
    {
        if (first < 0 || first + count > Count)
        {
            throw new System.ArgumentOutOfRangeException(nameof(first), Prefix + "<" + I(Count) + "> has no elements " + I(first) + ".." + I(first + count - 1));
        }

        return List(Prefix, first, count);
    }

    /// <summary>All elements as one vector operand.</summary>
    public string All => Vector(0, Count);

    public override string ToString() => Prefix;
}

/// <summary>Declares registers in the writer's current scope (kernel scope, or a <c>{ }</c> scope of a stage).</summary>
internal static class PtxWriterRegisters
{
    private static string Type(RegKind kind) => kind switch
    {
        RegKind.B16 => ".b16",
        RegKind.B32 => ".b32",
        RegKind.B64 => ".b64",
        RegKind.F32 => ".f32",
        RegKind.S32 => ".s32",
        RegKind.F64 => ".f64",
        _ => ".pred",
    };

    /// <summary>One <c>.reg</c> line of scalar registers; returns them in order.</summary>
    public static Reg[] Declare(this PtxWriter w, RegKind kind, params string[] names)
    {
        var regs = new Reg[names.Length];
        var line = new StringBuilder(".reg ").Append(Type(kind)).Append(' ');
        for (int i = 0; i < names.Length; i++)
        {
            regs[i] = new Reg("%" + names[i], kind);
            line.Append(i == 0 ? string.Empty : ", ").Append(regs[i].Name);
        }

        w.Ins(line.ToString());
        return regs;
    }

    /// <summary>One scalar register on its own <c>.reg</c> line.</summary>
    public static Reg Declare1(this PtxWriter w, RegKind kind, string name) => w.Declare(kind, name)[0];

    /// <summary>One <c>.reg</c> line of arrays of equal length (<c>.reg .f32 %m&lt;4&gt;, %l&lt;4&gt;</c>); returns them in order.</summary>
    public static RegArray[] DeclareArrays(this PtxWriter w, RegKind kind, int count, params string[] names)
    {
        var arrays = new RegArray[names.Length];
        var line = new StringBuilder(".reg ").Append(Type(kind)).Append(' ');
        for (int i = 0; i < names.Length; i++)
        {
            arrays[i] = new RegArray("%" + names[i], count, kind);
            line.Append(i == 0 ? string.Empty : ", ").Append(arrays[i].Prefix).Append('<').Append(I(count)).Append('>');
        }

        w.Ins(line.ToString());
        return arrays;
    }

    /// <summary>One array on its own <c>.reg</c> line.</summary>
    public static RegArray DeclareArray(this PtxWriter w, RegKind kind, string name, int count) => w.DeclareArrays(kind, count, name)[0];

    /// <summary>Registers that exist without a declaration (<c>%tid.x</c>, <c>%ctaid.y</c>, ...).</summary>
    public static Reg Special(string name) => new(name, RegKind.B32);

    /// <summary>Names of several registers, comma-separated (for operand lists built by a layer piece).</summary>
    public static string Join(IEnumerable<Reg> regs) => string.Join(", ", regs);
}
