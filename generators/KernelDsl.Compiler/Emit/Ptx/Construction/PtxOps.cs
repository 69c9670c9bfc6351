using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>The type suffix of an instruction (<c>add.s32</c>, <c>setp.lt.u32</c>, <c>st.global.u8</c>).</summary>
internal enum PtxType
{
    Pred,
    B16,
    B32,
    B64,
    U8,
    U32,
    U64,
    S32,
    S64,
    F32,
    F64,
}

/// <summary>The comparison of a <c>setp</c> (<c>neu</c>: not equal or unordered, the float "!=").</summary>
internal enum Cmp
{
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Neu,

    /// <summary>Either operand is NaN.</summary>
    Nan,
}

/// <summary>
/// A source operand: a register, an integer immediate, or a literal spelled by <see cref="PtxLiteral"/>
/// (<c>PtxLiteral.Zero</c>, <c>PtxLiteral.F32(x)</c>) or a special register (<see cref="Sreg"/>).
/// </summary>
internal readonly struct Operand
{
    private Operand(string text) => Text = text;

    public string Text { get; }

    public static implicit operator Operand(Reg register) => new(register.Name);

    public static implicit operator Operand(int immediate) => new(I(immediate));

    /// <summary>A literal (<c>0f3F800000</c>, <c>0xffffffff</c>) or a module symbol (a shared array's address).</summary>
    public static Operand Literal(string text) => new(text);

    /// <summary>An f32 immediate in PTX's exact hexadecimal form (<see cref="PtxLiteral.F32"/>).</summary>
    public static Operand F32(double value) => new(PtxLiteral.F32(value));

    /// <summary>An f64 immediate in PTX's exact hexadecimal form (<see cref="PtxLiteral.F64"/>).</summary>
    public static Operand F64(double value) => new(PtxLiteral.F64(value));

    /// <summary>The f32 immediate −∞.</summary>
    public static Operand NegInf { get; } = new(PtxLiteral.NegInf);

    /// <summary>The f32 immediate 0.</summary>
    public static Operand Zero { get; } = new(PtxLiteral.Zero);

    public override string ToString() => Text;
}

/// <summary>The special registers the kernels read.</summary>
internal static class Sreg
{
    public static Operand TidX { get; } = Operand.Literal("%tid.x");

    public static Operand CtaidX { get; } = Operand.Literal("%ctaid.x");

    public static Operand CtaidY { get; } = Operand.Literal("%ctaid.y");

    public static Operand CtaidZ { get; } = Operand.Literal("%ctaid.z");

    public static Operand NctaidX { get; } = Operand.Literal("%nctaid.x");

    public static Operand NctaidY { get; } = Operand.Literal("%nctaid.y");

    public static Operand NtidX { get; } = Operand.Literal("%ntid.x");
}

/// <summary>
/// The instruction vocabulary: one method per PTX operation a kernel or stage uses, taking typed registers, so a
/// kernel reads as its algorithm (<c>w.Max(PtxType.F32, m, m, x)</c>) and the instruction's spelling is written
/// once, here. Integer multiplies name their width (<see cref="MulLo"/>, <see cref="MulWide"/>, <see cref="MadLo"/>);
/// float ones their rounding where PTX requires one (<see cref="Fma"/> is <c>fma.rn</c>). A guarded instruction is
/// written inside <see cref="When"/> or <see cref="Unless"/>.
/// </summary>
internal static class PtxOps
{
    private static string Suffix(PtxType type) => type switch
    {
        PtxType.Pred => "pred",
        PtxType.B16 => "b16",
        PtxType.B32 => "b32",
        PtxType.B64 => "b64",
        PtxType.U8 => "u8",
        PtxType.U32 => "u32",
        PtxType.U64 => "u64",
        PtxType.S32 => "s32",
        PtxType.S64 => "s64",
        PtxType.F32 => "f32",
        _ => "f64",
    };

    private static string Suffix(Cmp cmp) => cmp switch
    {
        Cmp.Eq => "eq",
        Cmp.Ne => "ne",
        Cmp.Lt => "lt",
        Cmp.Le => "le",
        Cmp.Gt => "gt",
        Cmp.Ge => "ge",
        Cmp.Neu => "neu",
        _ => "nan",
    };

    private static void Unary(PtxWriter w, string op, PtxType type, Reg d, Operand a) =>
        w.Ins(op + "." + Suffix(type) + " " + d + ", " + a);

    private static void Binary(PtxWriter w, string op, PtxType type, Reg d, Operand a, Operand b) =>
        w.Ins(op + "." + Suffix(type) + " " + d + ", " + a + ", " + b);

    private static void Ternary(PtxWriter w, string op, PtxType type, Reg d, Operand a, Operand b, Operand c) =>
        w.Ins(op + "." + Suffix(type) + " " + d + ", " + a + ", " + b + ", " + c);

    /// <summary>Guards the instructions written until disposal with <c>@p</c>.</summary>
    public static System.IDisposable When(this PtxWriter w, Reg predicate) => w.Guarded(predicate.Name);

    /// <summary>Guards the instructions written until disposal with <c>@!p</c>.</summary>
    public static System.IDisposable Unless(this PtxWriter w, Reg predicate) => w.Guarded(predicate.Not);

    public static void Mov(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "mov", type, d, a);

    public static void Neg(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "neg", type, d, a);

    public static void Not(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "not", type, d, a);

    /// <summary>d = the bit position of a's most significant set bit (log2 of a power of two).</summary>
    public static void Bfind(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "bfind", type, d, a);

    /// <summary>d = 2^a, approximate, subnormals flushed (the softmax's exponential).</summary>
    public static void Ex2(this PtxWriter w, Reg d, Operand a) => Unary(w, "ex2.approx.ftz", PtxType.F32, d, a);

    /// <summary>d = 2^a, approximate, subnormal results kept (a modifier's Math.Exp: C# keeps them).</summary>
    public static void Ex2KeepingSubnormals(this PtxWriter w, Reg d, Operand a) => Unary(w, "ex2.approx", PtxType.F32, d, a);

    /// <summary>d = tanh(a), approximate (f32).</summary>
    public static void Tanh(this PtxWriter w, Reg d, Operand a) => Unary(w, "tanh.approx", PtxType.F32, d, a);

    public static void Abs(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "abs", type, d, a);

    /// <summary>d = √a, rounded to nearest (IEEE, as Math.Sqrt).</summary>
    public static void SqrtRn(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "sqrt.rn", type, d, a);

    /// <summary>d = |b| with the sign of a (note PTX's operand order: the sign comes first).</summary>
    public static void CopySign(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "copysign", type, d, a, b);

    public static void Add(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "add", type, d, a, b);

    public static void Sub(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "sub", type, d, a, b);

    public static void Min(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "min", type, d, a, b);

    public static void Max(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "max", type, d, a, b);

    /// <summary>The float minimum that is NaN when either operand is (<c>min.NaN</c>, sm_80; Math.Min's rule).</summary>
    public static void MinNaN(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "min.NaN", type, d, a, b);

    /// <summary>The float maximum that is NaN when either operand is (<c>max.NaN</c>, sm_80; Math.Max's rule).</summary>
    public static void MaxNaN(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "max.NaN", type, d, a, b);

    /// <summary>A float multiply (<c>mul.f32</c>); integers use <see cref="MulLo"/> or <see cref="MulWide"/>.</summary>
    public static void Mul(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "mul", type, d, a, b);

    /// <summary>The low half of an integer product, same width as the operands.</summary>
    public static void MulLo(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "mul.lo", type, d, a, b);

    /// <summary>The full product of two 32-bit integers, 64 bits wide (<paramref name="type"/> is the operands' type).</summary>
    public static void MulWide(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "mul.wide", type, d, a, b);

    /// <summary>d = low half of a·b, plus c.</summary>
    public static void MadLo(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b, Operand c) => Ternary(w, "mad.lo", type, d, a, b, c);

    /// <summary>A float multiply rounded to nearest on its own (<c>mul.rn</c>: never contracted into an fma, as C# evaluates it).</summary>
    public static void MulRn(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "mul.rn", type, d, a, b);

    /// <summary>A float add rounded to nearest on its own (<c>add.rn</c>: never contracted into an fma).</summary>
    public static void AddRn(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "add.rn", type, d, a, b);

    /// <summary>A float subtract rounded to nearest on its own (<c>sub.rn</c>: never contracted into an fma).</summary>
    public static void SubRn(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "sub.rn", type, d, a, b);

    /// <summary>An IEEE float divide, rounded to nearest (<c>div.rn</c>; integers use <see cref="Div"/>).</summary>
    public static void DivRn(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "div.rn", type, d, a, b);

    /// <summary>d = 1/a, rounded to nearest.</summary>
    public static void Rcp(this PtxWriter w, PtxType type, Reg d, Operand a) => Unary(w, "rcp.rn", type, d, a);

    /// <summary>d = log2(a), approximate (f32).</summary>
    public static void Lg2(this PtxWriter w, Reg d, Operand a) => Unary(w, "lg2.approx", PtxType.F32, d, a);

    /// <summary>d = a·b + c, one rounding to nearest.</summary>
    public static void Fma(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b, Operand c) => Ternary(w, "fma.rn", type, d, a, b, c);

    public static void Div(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "div", type, d, a, b);

    public static void Rem(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "rem", type, d, a, b);

    public static void And(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "and", type, d, a, b);

    public static void Or(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "or", type, d, a, b);

    public static void Xor(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "xor", type, d, a, b);

    public static void Shl(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "shl", type, d, a, b);

    public static void Shr(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b) => Binary(w, "shr", type, d, a, b);

    /// <summary>
    /// d = the value of a in type <paramref name="to"/> (<c>cvt.to.from</c>) where no rounding is needed: between
    /// integers, or a float widened (f32 → f64, exact).
    /// </summary>
    public static void Cvt(this PtxWriter w, PtxType to, PtxType from, Reg d, Operand a) =>
        w.Ins("cvt." + Suffix(to) + "." + Suffix(from) + " " + d + ", " + a);

    /// <summary>d = a converted to a float type, rounded to nearest (<c>cvt.rn.to.from</c>: a narrower float, or an integer to a float).</summary>
    public static void CvtRn(this PtxWriter w, PtxType to, PtxType from, Reg d, Operand a) => Convert(w, "rn", to, from, d, a);

    /// <summary>d = a rounded toward zero to an integer value (<c>cvt.rzi</c>): float → int truncates (saturating, NaN → 0), or f64 → f64 trunc.</summary>
    public static void CvtRzi(this PtxWriter w, PtxType to, PtxType from, Reg d, Operand a) => Convert(w, "rzi", to, from, d, a);

    /// <summary>d = a rounded toward −∞ to an integer value (<c>cvt.rmi</c>: floor).</summary>
    public static void CvtRmi(this PtxWriter w, PtxType to, PtxType from, Reg d, Operand a) => Convert(w, "rmi", to, from, d, a);

    /// <summary>d = a rounded toward +∞ to an integer value (<c>cvt.rpi</c>: ceiling).</summary>
    public static void CvtRpi(this PtxWriter w, PtxType to, PtxType from, Reg d, Operand a) => Convert(w, "rpi", to, from, d, a);

    private static void Convert(PtxWriter w, string rounding, PtxType to, PtxType from, Reg d, Operand a) =>
        w.Ins("cvt." + rounding + "." + Suffix(to) + "." + Suffix(from) + " " + d + ", " + a);

    /// <summary>p = a cmp b.</summary>
    public static void Setp(this PtxWriter w, Cmp cmp, PtxType type, Reg p, Operand a, Operand b) =>
        w.Ins("setp." + Suffix(cmp) + "." + Suffix(type) + " " + p + ", " + a + ", " + b);

    /// <summary>p = (a cmp b) || q.</summary>
    public static void SetpOr(this PtxWriter w, Cmp cmp, PtxType type, Reg p, Operand a, Operand b, Reg q) =>
        w.Ins("setp." + Suffix(cmp) + ".or." + Suffix(type) + " " + p + ", " + a + ", " + b + ", " + q);

    /// <summary>p = (a cmp b) &amp;&amp; q.</summary>
    public static void SetpAnd(this PtxWriter w, Cmp cmp, PtxType type, Reg p, Operand a, Operand b, Reg q) =>
        w.Ins("setp." + Suffix(cmp) + ".and." + Suffix(type) + " " + p + ", " + a + ", " + b + ", " + q);

    /// <summary>d = p ? a : b.</summary>
    public static void Selp(this PtxWriter w, PtxType type, Reg d, Operand a, Operand b, Reg p) =>
        w.Ins("selp." + Suffix(type) + " " + d + ", " + a + ", " + b + ", " + p);

    /// <summary>p = whether <paramref name="vote"/> holds in any lane of the (full) warp.</summary>
    public static void VoteAny(this PtxWriter w, Reg p, Reg vote) => w.Ins("vote.sync.any.pred " + p + ", " + vote + ", 0xffffffff");

    /// <summary>p = whether <paramref name="vote"/> holds in every lane of the (full) warp.</summary>
    public static void VoteAll(this PtxWriter w, Reg p, Reg vote) => w.Ins("vote.sync.all.pred " + p + ", " + vote + ", 0xffffffff");

    /// <summary>A generic address (a pointer parameter) as a global-space address.</summary>
    public static void CvtaToGlobal(this PtxWriter w, Reg d, Reg a) => Unary(w, "cvta.to.global", PtxType.U64, d, a);

    /// <summary>d = <c>[address]</c> through the read-only (non-coherent) cache: global data this kernel never writes.</summary>
    public static void LdGlobalNc(this PtxWriter w, PtxType type, Reg d, Reg address) =>
        w.Ins("ld.global.nc." + Suffix(type) + " " + d + ", [" + address + "]");

    /// <summary>d = <c>[address + offset]</c> through the read-only cache.</summary>
    public static void LdGlobalNc(this PtxWriter w, PtxType type, Reg d, Reg address, int offset) =>
        w.Ins("ld.global.nc." + Suffix(type) + " " + d + ", [" + address + "+" + I(offset) + "]");

    /// <summary>d = <c>[address]</c> in global memory.</summary>
    public static void LdGlobal(this PtxWriter w, PtxType type, Reg d, Reg address) =>
        w.Ins("ld.global." + Suffix(type) + " " + d + ", [" + address + "]");

    /// <summary>d = <c>[address + offset]</c> in global memory.</summary>
    public static void LdGlobal(this PtxWriter w, PtxType type, Reg d, Reg address, int offset) =>
        w.Ins("ld.global." + Suffix(type) + " " + d + ", [" + address + "+" + I(offset) + "]");

    /// <summary><c>[address + offset]</c> = value in global memory.</summary>
    public static void StGlobal(this PtxWriter w, PtxType type, Reg address, int offset, Operand value) =>
        w.Ins("st.global." + Suffix(type) + " [" + address + "+" + I(offset) + "], " + value);

    /// <summary><c>[address + offset]</c> = {a, b} in global memory (one 2-vector store).</summary>
    public static void StGlobalPair(this PtxWriter w, PtxType type, Reg address, int offset, Reg a, Reg b) =>
        w.Ins("st.global.v2." + Suffix(type) + " [" + address + "+" + I(offset) + "], {" + a + ", " + b + "}");

    /// <summary>
    /// <c>[address + offset] += value</c> in global memory, fp32, without a result (<c>red.global.add.f32</c>). The scalar form:
    /// the vector forms (.v2/.v4.f32) need PTX ISA 8.1 and sm_90, beyond the sm_80 family's ISA 7.8.
    /// </summary>
    public static void RedGlobalAdd(this PtxWriter w, Reg address, int offset, Reg value) =>
        w.Ins("red.global.add.f32 [" + address + "+" + I(offset) + "], " + value);

    /// <summary><c>[address]</c> = value in global memory.</summary>
    public static void StGlobal(this PtxWriter w, PtxType type, Reg address, Operand value) =>
        w.Ins("st.global." + Suffix(type) + " [" + address + "], " + value);

    /// <summary>d = <c>[address + offset]</c> in shared memory.</summary>
    public static void LdShared(this PtxWriter w, PtxType type, Reg d, Reg address, int offset) =>
        w.Ins("ld.shared." + Suffix(type) + " " + d + ", [" + address + "+" + I(offset) + "]");

    /// <summary><c>[address]</c> = value in shared memory.</summary>
    public static void StShared(this PtxWriter w, PtxType type, Reg address, Operand value) =>
        w.Ins("st.shared." + Suffix(type) + " [" + address + "], " + value);

    /// <summary><c>[address + offset]</c> = value in shared memory.</summary>
    public static void StShared(this PtxWriter w, PtxType type, Reg address, int offset, Operand value) =>
        w.Ins("st.shared." + Suffix(type) + " [" + address + "+" + I(offset) + "], " + value);

    /// <summary>d = <paramref name="length"/> bits of a from bit <paramref name="start"/>, zero-extended (<c>bfe.u32</c>).</summary>
    public static void Bfe(this PtxWriter w, Reg d, Operand a, int start, int length) =>
        w.Ins("bfe.u32 " + d + ", " + a + ", " + I(start) + ", " + I(length));

    /// <summary>d = a of the lane whose index is this lane's XOR <paramref name="laneMask"/> (full warp; a butterfly step of a reduction).</summary>
    public static void ShflBfly(this PtxWriter w, Reg d, Reg a, int laneMask) =>
        w.Ins("shfl.sync.bfly.b32 " + d + ", " + a + ", " + I(laneMask) + ", 31, 0xffffffff");

    /// <summary>{a, b} = the two f32 at <c>[address + offset]</c> in shared memory (one 8-byte load).</summary>
    public static void LdSharedPair(this PtxWriter w, Reg a, Reg b, Reg address, int offset) =>
        w.Ins("ld.shared.v2.f32 {" + a + ", " + b + "}, [" + address + "+" + I(offset) + "]");

    /// <summary>Four 32-bit words at <c>[address + offset]</c> through the read-only cache (one 16-byte load).</summary>
    public static void LdGlobalNcQuad(this PtxWriter w, RegArray d, int first, Reg address, int offset) =>
        w.Ins("ld.global.nc.v4.b32 " + d.Vector(first, 4) + ", [" + address + "+" + I(offset) + "]");

    /// <summary>{lo, hi} = the two 16-bit halves of a 32-bit register (<c>mov.b32 {lo, hi}, a</c>: lo is the first element in memory).</summary>
    public static void Unpack(this PtxWriter w, Reg lo, Reg hi, Reg a) => w.Ins("mov.b32 {" + lo + ", " + hi + "}, " + a);

    /// <summary>Leaves the kernel (this thread).</summary>
    public static void Ret(this PtxWriter w) => w.Ins("ret");
}
