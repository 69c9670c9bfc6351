using System.Collections.Generic;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Lowers a modifier's expression IR into PTX registers with C# semantics: Float → .f32, Double → .f64,
/// Int → .s32 (32-bit wrapping), Bool → .pred. Each temporary is declared (through the construction layer's
/// <see cref="PtxWriterRegisters"/>) where it is produced, in the
/// caller's current register scope, so a caller evaluating one score element per <c>{ }</c> scope keeps only a
/// handful of registers live (ptxas reuses them across elements). Approximations (ex2/lg2/tanh.approx) and
/// their error bounds are listed in <see cref="Planning.ModifierMathNotes"/>, which the GPU plan text prints.
/// </summary>
internal sealed class ExprPtxWriter
{
    private readonly PtxWriter _w;
    private readonly System.Func<ModifierInput, string> _input;
    private readonly IReadOnlyDictionary<Expr, string> _hoisted;
    private readonly System.Func<string, string>? _bufferBase;
    private readonly Dictionary<string, string> _locals = new(System.StringComparer.Ordinal);
    private readonly string _prefix;
    private int _next;

    /// <summary>
    /// The predicate under which the expression being lowered is evaluated in C# (null: always). PTX evaluates both
    /// sides of ?:, &amp;&amp; and || and selects; that is harmless for arithmetic, but a buffer read that C# would not
    /// perform (e.g. <c>q &lt; n ? docs[q] : -1</c>) must not touch memory, so reads under a guard are predicated.
    /// </summary>
    private string? _guard;

    /// <param name="writer">Where instructions go (inside the caller's scope).</param>
    /// <param name="input">The register holding each modifier input (score: .f32; b, h, q, kv: 32-bit integers).</param>
    /// <param name="hoisted">Subexpressions already evaluated into registers (e.g. once per kernel); may be empty.</param>
    /// <param name="prefix">Name prefix of temporaries, unique within the enclosing scope.</param>
    /// <param name="bufferBase">The .b64 register holding each captured buffer's global address (by buffer name).</param>
    public ExprPtxWriter(
        PtxWriter writer,
        System.Func<ModifierInput, string> input,
        IReadOnlyDictionary<Expr, string>? hoisted = null,
        string prefix = "%me",
        System.Func<string, string>? bufferBase = null)
    {
        _w = writer;
        _input = input;
        _hoisted = hoisted ?? new Dictionary<Expr, string>();
        _prefix = prefix;
        _bufferBase = bufferBase;
    }

    /// <summary>
    /// Evaluates, into registers, the largest subexpressions of <paramref name="body"/> that depend only on the
    /// batch and head (and constants): the caller emits this once per kernel, outside the KV loop, and passes the
    /// map to the per-element writers, so e.g. an ALiBi slope 2^(-8(h+1)/H) costs one ex2 per thread, not one per
    /// score. Returns the map from subexpression to register.
    /// </summary>
    public Dictionary<Expr, string> Hoist(ModifierBody body)
    {
        var hoisted = new Dictionary<Expr, string>();
        var invariantLocals = new HashSet<string>(System.StringComparer.Ordinal);

        // A buffer read inside a branch C# may not take is never hoisted (it would read unconditionally).
        void Collect(Expr e, bool guarded)
        {
            if (IsInvariant(e, invariantLocals) && !(guarded && ReadsBuffer(e)))
            {
                if (e is not (ConstantExpr or ParameterExpr or LocalExpr) && !hoisted.ContainsKey(e))
                {
                    hoisted[e] = Eval(e);
                }

                return;
            }

            switch (e)
            {
                case ConditionalExpr c:
                    Collect(c.Condition, guarded);
                    Collect(c.WhenTrue, true);
                    Collect(c.WhenFalse, true);
                    break;
                case BinaryExpr { Operator: BinaryOperator.And or BinaryOperator.Or, Type: ExprType.Bool } b:
                    Collect(b.Left, guarded);
                    Collect(b.Right, true);
                    break;
                default:
                    foreach (var child in ExprQueries.Children(e))
                    {
                        Collect(child, guarded);
                    }

                    break;
            }
        }

        foreach (var local in body.Locals)
        {
            Collect(local.Value, false);
            if (IsInvariant(local.Value, invariantLocals))
            {
                invariantLocals.Add(local.Name);
                _locals[local.Name] = hoisted.TryGetValue(local.Value, out var reg) ? reg : Eval(local.Value);
            }
        }

        Collect(body.Result, false);
        return hoisted;
    }

    private static bool IsInvariant(Expr e, HashSet<string> invariantLocals) => e switch
    {
        ConstantExpr => true,
        ParameterExpr p => p.Input is ModifierInput.Batch or ModifierInput.Head,
        LocalExpr l => invariantLocals.Contains(l.Name),
        _ => System.Linq.Enumerable.All(ExprQueries.Children(e), c => IsInvariant(c, invariantLocals)),
    };

    /// <summary>True when <paramref name="e"/> reads a captured buffer anywhere.</summary>
    public static bool ReadsBuffer(Expr e) => e is BufferReadExpr || System.Linq.Enumerable.Any(ExprQueries.Children(e), ReadsBuffer);

    /// <summary>Evaluates the locals in order, then the result; returns the register holding the result.</summary>
    public string Lower(ModifierBody body)
    {
        foreach (var local in body.Locals)
        {
            _locals[local.Name] = Eval(local.Value);
        }

        return Eval(body.Result);
    }

    /// <summary>Lowers a modifier's body: the register holding its result, typed by the result's IR type.</summary>
    public Reg LowerResult(ModifierBody body) => new(Lower(body), body.Result.Type switch
    {
        ExprType.Bool => RegKind.Pred,
        ExprType.Int => RegKind.S32,
        ExprType.Float => RegKind.F32,
        _ => RegKind.F64,
    });

    /// <summary>Lowers a mask modifier's body (its result is a bool): the predicate holding it, for the layer's typed instructions.</summary>
    public Reg LowerMask(ModifierBody body) => new(Lower(body), RegKind.Pred);

    /// <summary>Lowers a score modifier's body (its result is a float): the f32 register holding it.</summary>
    public Reg LowerScore(ModifierBody body) => new(Lower(body), RegKind.F32);

    /// <summary>The register holding <paramref name="e"/>'s value (a new temporary, an input, a local or a hoisted value).</summary>
    public string Eval(Expr e)
    {
        if (_hoisted.TryGetValue(e, out var pre))
        {
            return pre;
        }

        switch (e)
        {
            case ConstantExpr c:
                return Constant(c.Type, c.Value);
            case ParameterExpr p:
                return _input(p.Input);
            case LocalExpr l:
                return _locals.TryGetValue(l.Name, out var reg) ? reg : throw new System.InvalidOperationException("local '" + l.Name + "' used before its declaration");
            case UnaryExpr u:
                return Unary(u);
            case BinaryExpr b:
                return Binary(b);
            case ConditionalExpr c:
                return Conditional(c);
            case ConvertExpr c:
                return Convert(Eval(c.Operand), c.Operand.Type, c.TargetType);
            case CallExpr c:
                return Call(c);
            case BufferReadExpr r:
                return BufferRead(r);
            default:
                throw new System.NotSupportedException("no PTX lowering for " + e.GetType().Name);
        }
    }

    /// <summary>
    /// Evaluates <paramref name="e"/> as C# would only when <paramref name="condition"/> (negated: when it is false)
    /// holds: its buffer reads are predicated on that, and-ed with the enclosing guard. Subtrees without buffer reads
    /// are evaluated plainly (no extra instructions).
    /// </summary>
    private string Guarded(Expr e, string condition, bool negate)
    {
        if (!ReadsBuffer(e))
        {
            return Eval(e);
        }

        var outer = _guard;
        var guard = Temp(ExprType.Bool);
        if (negate)
        {
            _w.Ins("not.pred " + guard + ", " + condition);
        }
        else
        {
            _w.Ins("mov.pred " + guard + ", " + condition);
        }

        if (outer is not null)
        {
            _w.Ins("and.pred " + guard + ", " + guard + ", " + outer);
        }

        _guard = guard;
        try
        {
            return Eval(e);
        }
        finally
        {
            _guard = outer;
        }
    }

    /// <summary>
    /// buffer[index]: a 4-byte element at base + 4·index (index sign-extended, as C# indexes with an int), read
    /// through the non-coherent (read-only) cache: the buffer is never written while the kernel runs.
    /// </summary>
    private string BufferRead(BufferReadExpr r)
    {
        string index = Eval(r.Index);
        string address = Temp(RegKind.B64);
        var baseRegister = _bufferBase?.Invoke(r.Buffer) ?? throw new System.InvalidOperationException("no base register for captured buffer '" + r.Buffer + "'");
        _w.Ins("mul.wide.s32 " + address + ", " + index + ", 4");
        _w.Ins("add.s64 " + address + ", " + address + ", " + baseRegister);
        var t = Temp(r.ElementType);
        string load = "ld.global.nc." + (r.ElementType == ExprType.Int ? "s32 " : "f32 ") + t + ", [" + address + "]";
        if (_guard is null)
        {
            _w.Ins(load);
        }
        else
        {
            // Not read where C# would not read it: the value is then unused (the select takes the other side).
            _w.Ins("mov." + (r.ElementType == ExprType.Int ? "s32 " : "f32 ") + t + ", 0");
            _w.Ins("@" + _guard + " " + load);
        }

        return t;
    }

    /// <summary>PTX register type of an IR type.</summary>
    public static string RegType(ExprType type) => type switch
    {
        ExprType.Bool => "pred",
        ExprType.Int => "s32",
        ExprType.Float => "f32",
        _ => "f64",
    };

    /// <summary>A new temporary of the IR type, declared through the layer in the caller's current scope.</summary>
    private string Temp(ExprType type) => Temp(type switch
    {
        ExprType.Bool => RegKind.Pred,
        ExprType.Int => RegKind.S32,
        ExprType.Float => RegKind.F32,
        _ => RegKind.F64,
    });

    private string Temp(RegKind kind) => _w.Declare1(kind, _prefix.Substring(1) + I(_next++)).Name;

    private string Constant(ExprType type, double value)
    {
        var t = Temp(type);
        switch (type)
        {
            case ExprType.Bool:
            {
                var bits = Temp(ExprType.Int);
                _w.Ins("mov.s32 " + bits + ", " + I(value != 0 ? 1 : 0));
                _w.Ins("setp.ne.s32 " + t + ", " + bits + ", 0");
                break;
            }

            case ExprType.Int:
                _w.Ins("mov.s32 " + t + ", " + I((int)value));
                break;
            case ExprType.Float:
                _w.Ins("mov.f32 " + t + ", " + F32(value));
                break;
            default:
                _w.Ins("mov.f64 " + t + ", " + F64(value));
                break;
        }

        return t;
    }

    private string Unary(UnaryExpr u)
    {
        string a = Eval(u.Operand);
        var t = Temp(u.Type);
        _w.Ins((u.Operator == UnaryOperator.Not ? (u.Type == ExprType.Bool ? "not.pred " : "not.b32 ") : "neg." + RegType(u.Type) + " ") + t + ", " + a);
        return t;
    }

    private string Binary(BinaryExpr b)
    {
        string l = Eval(b.Left);
        string r = b.Operator is BinaryOperator.And or BinaryOperator.Or && b.Left.Type == ExprType.Bool
            ? Guarded(b.Right, l, negate: b.Operator == BinaryOperator.Or)
            : Eval(b.Right);
        var operand = b.Left.Type;
        string ty = RegType(operand);
        bool isFloat = operand is ExprType.Float or ExprType.Double;
        switch (b.Operator)
        {
            case BinaryOperator.Add:
            case BinaryOperator.Subtract:
            case BinaryOperator.Multiply:
            {
                // .rn on floats: IEEE round-to-nearest and no contraction into fma (the .NET JIT does not contract either).
                string op = b.Operator == BinaryOperator.Add ? "add" : b.Operator == BinaryOperator.Subtract ? "sub" : "mul";
                var t = Temp(b.Type);
                _w.Ins(op + (isFloat ? ".rn." : b.Operator == BinaryOperator.Multiply ? ".lo." : ".") + ty + " " + t + ", " + l + ", " + r);
                return t;
            }

            case BinaryOperator.Divide:
            {
                var t = Temp(b.Type);
                _w.Ins("div" + (isFloat ? ".rn." : ".") + ty + " " + t + ", " + l + ", " + r);
                return t;
            }

            case BinaryOperator.Remainder:
                return isFloat ? FloatRemainder(l, r, operand) : Op2("rem.s32", b.Type, l, r);
            case BinaryOperator.Less:
                return Compare("lt", ty, l, r, operand);
            case BinaryOperator.LessOrEqual:
                return Compare("le", ty, l, r, operand);
            case BinaryOperator.Greater:
                return Compare("gt", ty, l, r, operand);
            case BinaryOperator.GreaterOrEqual:
                return Compare("ge", ty, l, r, operand);
            case BinaryOperator.Equal:
                return Compare("eq", ty, l, r, operand);
            case BinaryOperator.NotEqual:
                // C#: x != y is true when either is NaN, hence the unordered .neu (the ordered ones above are false on NaN).
                return Compare(isFloat ? "neu" : "ne", ty, l, r, operand);
            case BinaryOperator.And:
                return Op2(operand == ExprType.Bool ? "and.pred" : "and.b32", b.Type, l, r);
            case BinaryOperator.Or:
                return Op2(operand == ExprType.Bool ? "or.pred" : "or.b32", b.Type, l, r);
            default:
                throw new System.NotSupportedException("no PTX lowering for operator " + b.Operator);
        }
    }

    private string Op2(string op, ExprType type, string l, string r)
    {
        var t = Temp(type);
        _w.Ins(op + " " + t + ", " + l + ", " + r);
        return t;
    }

    private string Compare(string cmp, string ty, string l, string r, ExprType operand)
    {
        var t = Temp(ExprType.Bool);
        if (operand == ExprType.Bool)
        {
            // bool == bool / bool != bool
            _w.Ins("xor.pred " + t + ", " + l + ", " + r);
            if (cmp == "eq")
            {
                _w.Ins("not.pred " + t + ", " + t);
            }

            return t;
        }

        _w.Ins("setp." + cmp + "." + ty + " " + t + ", " + l + ", " + r);
        return t;
    }

    /// <summary>
    /// C#'s floating <c>%</c> (fmod: truncated quotient, result has the dividend's sign), in f64: r = x − trunc(x/y)·y
    /// with one fma (exact), then a sign fix when x/y rounded up to the next integer. Exact while |x/y| &lt; 2^52.
    /// </summary>
    private string FloatRemainder(string l, string r, ExprType type)
    {
        string x = type == ExprType.Double ? l : Convert(l, type, ExprType.Double);
        string y = type == ExprType.Double ? r : Convert(r, type, ExprType.Double);
        var q = Temp(ExprType.Double);
        var rem = Temp(ExprType.Double);
        var fix = Temp(ExprType.Double);
        var wrong = Temp(ExprType.Bool);
        _w.Ins("div.rn.f64 " + q + ", " + x + ", " + y);
        _w.Ins("cvt.rzi.f64.f64 " + q + ", " + q);
        _w.Ins("neg.f64 " + q + ", " + q);
        _w.Ins("fma.rn.f64 " + rem + ", " + q + ", " + y + ", " + x);
        _w.Ins("mul.rn.f64 " + fix + ", " + rem + ", " + x);
        _w.Ins("setp.lt.f64 " + wrong + ", " + fix + ", " + F64(0));
        _w.Ins("abs.f64 " + fix + ", " + y);
        _w.Ins("copysign.f64 " + fix + ", " + x + ", " + fix);
        _w.Ins("@" + wrong + " add.rn.f64 " + rem + ", " + rem + ", " + fix);
        return type == ExprType.Double ? rem : Convert(rem, ExprType.Double, type);
    }

    private string Conditional(ConditionalExpr c)
    {
        string cond = Eval(c.Condition);
        string a = Guarded(c.WhenTrue, cond, negate: false);
        string b = Guarded(c.WhenFalse, cond, negate: true);
        var t = Temp(c.Type);
        if (c.Type == ExprType.Bool)
        {
            // (cond && a) || (!cond && b), all predicates
            var other = Temp(ExprType.Bool);
            _w.Ins("and.pred " + t + ", " + cond + ", " + a);
            _w.Ins("not.pred " + other + ", " + cond);
            _w.Ins("and.pred " + other + ", " + other + ", " + b);
            _w.Ins("or.pred " + t + ", " + t + ", " + other);
            return t;
        }

        _w.Ins("selp." + RegType(c.Type) + " " + t + ", " + a + ", " + b + ", " + cond);
        return t;
    }

    /// <summary>
    /// C# conversions: int → float/double rounds to nearest; float/double → int truncates toward zero
    /// (cvt.rzi saturates and maps NaN to 0, as .NET 9+ does on every platform); double → float rounds to nearest.
    /// </summary>
    private string Convert(string a, ExprType from, ExprType to)
    {
        if (from == to)
        {
            return a;
        }

        var t = Temp(to);
        if (from == ExprType.Bool)
        {
            _w.Ins("selp." + RegType(to) + " " + t + ", " + One(to) + ", " + Zero(to) + ", " + a);
            return t;
        }

        if (to == ExprType.Bool)
        {
            _w.Ins("setp.ne." + RegType(from) + " " + t + ", " + a + ", " + Zero(from));
            return t;
        }

        string rounding = to == ExprType.Int ? "rzi." : from == ExprType.Float && to == ExprType.Double ? string.Empty : "rn.";
        _w.Ins("cvt." + rounding + RegType(to) + "." + RegType(from) + " " + t + ", " + a);
        return t;
    }

    private static string Zero(ExprType type) => type == ExprType.Float ? PtxLiteral.Zero : type == ExprType.Double ? F64(0) : "0";

    private static string One(ExprType type) => type == ExprType.Float ? F32(1) : type == ExprType.Double ? F64(1) : "1";

    private string Call(CallExpr c)
    {
        var args = c.Arguments;
        switch (c.Function)
        {
            case MathFunction.Abs:
                return Op1("abs." + RegType(c.Type), c.Type, Eval(args[0]));
            case MathFunction.Min:
            case MathFunction.Max:
                return MinMax(c.Function == MathFunction.Min ? "min" : "max", c.Type, Eval(args[0]), Eval(args[1]));
            case MathFunction.Sqrt:
                return c.Type == ExprType.Int ? Eval(args[0]) : Op1("sqrt.rn." + RegType(c.Type), c.Type, Eval(args[0]));
            case MathFunction.Floor:
                return c.Type == ExprType.Int ? Eval(args[0]) : Op1("cvt.rmi." + RegType(c.Type) + "." + RegType(c.Type), c.Type, Eval(args[0]));
            case MathFunction.Ceiling:
                return c.Type == ExprType.Int ? Eval(args[0]) : Op1("cvt.rpi." + RegType(c.Type) + "." + RegType(c.Type), c.Type, Eval(args[0]));
            case MathFunction.Exp:
                return InF32(c.Type, Eval(args[0]), Exp);
            case MathFunction.Log:
                return InF32(c.Type, Eval(args[0]), Log);
            case MathFunction.Tanh:
                return InF32(c.Type, Eval(args[0]), x => Op1("tanh.approx.f32", ExprType.Float, x));
            case MathFunction.Pow:
                return Pow(c.Type, args[0], args[1]);
            default:
                throw new System.NotSupportedException("no PTX lowering for Math." + c.Function);
        }
    }

    private string Op1(string op, ExprType type, string a)
    {
        var t = Temp(type);
        _w.Ins(op + " " + t + ", " + a);
        return t;
    }

    /// <summary>
    /// Math.Min/Max: NaN if either argument is NaN (.NET Core 3.0+), -0 below +0. f32 has min/max.NaN (sm_80,
    /// PTX 7.0); f64 has no .NaN form, so a NaN operand is propagated with setp.nan + selp.
    /// </summary>
    private string MinMax(string op, ExprType type, string a, string b)
    {
        if (type == ExprType.Int)
        {
            return Op2(op + ".s32", type, a, b);
        }

        if (type == ExprType.Float)
        {
            return Op2(op + ".NaN.f32", type, a, b);
        }

        var t = Op2(op + ".f64", type, a, b);
        var nan = Temp(ExprType.Bool);
        var sum = Temp(ExprType.Double);
        _w.Ins("setp.nan.f64 " + nan + ", " + a + ", " + b);
        _w.Ins("add.rn.f64 " + sum + ", " + a + ", " + b);
        _w.Ins("selp.f64 " + t + ", " + sum + ", " + t + ", " + nan);
        return t;
    }

    /// <summary>A transcendental evaluated in f32 (the hardware approximations are f32 only); double arguments round-trip through f32.</summary>
    private string InF32(ExprType type, string a, System.Func<string, string> f32)
    {
        if (type == ExprType.Float)
        {
            return f32(a);
        }

        string x = Convert(a, type, ExprType.Float);
        return Convert(f32(x), ExprType.Float, type);
    }

    /// <summary>exp(x) = 2^(x·log2 e): ex2.approx (no ftz, so subnormal results survive).</summary>
    private string Exp(string x)
    {
        var t = Op2("mul.rn.f32", ExprType.Float, x, F32(Constants.Log2E));
        return Op1("ex2.approx.f32", ExprType.Float, t);
    }

    /// <summary>ln(x) = log2(x)·ln 2: lg2.approx (no ftz).</summary>
    private string Log(string x)
    {
        var t = Op1("lg2.approx.f32", ExprType.Float, x);
        return Op2("mul.rn.f32", ExprType.Float, t, F32(Constants.Ln2));
    }

    /// <summary>
    /// Math.Pow. Constant integer exponent |n| ≤ 64: square-and-multiply (1/x^|n| for n &lt; 0; Pow(x, 0) = 1, NaN
    /// included, as in C#). Constant positive base b: 2^(y·log2 b), log2 b folded (b = 2: ex2 alone). Otherwise
    /// 2^(y·log2 x), which gives NaN for x &lt; 0 (right for non-integer y, as C#).
    /// </summary>
    private string Pow(ExprType type, Expr x, Expr y)
    {
        if (y is ConstantExpr ce && ce.Value == System.Math.Floor(ce.Value) && System.Math.Abs(ce.Value) <= 64)
        {
            int n = (int)ce.Value;
            if (n == 0)
            {
                return Constant(type, 1);
            }

            string xb = Eval(x);
            if (type == ExprType.Int)
            {
                xb = Convert(xb, ExprType.Int, ExprType.Double);
                type = ExprType.Double;
            }

            string mul = "mul.rn." + RegType(type);
            string? acc = null;
            string square = xb;
            for (int k = System.Math.Abs(n); k > 0; k >>= 1)
            {
                if ((k & 1) != 0)
                {
                    acc = acc is null ? square : Op2(mul, type, acc, square);
                }

                if (k > 1)
                {
                    square = Op2(mul, type, square, square);
                }
            }

            return n > 0 ? acc! : Op2("div.rn." + RegType(type), type, One(type), acc!);
        }

        if (x is ConstantExpr cb && cb.Value > 0)
        {
            double log2b = System.Math.Log(cb.Value, 2);
            return InF32(type, Eval(y), e => Op1("ex2.approx.f32", ExprType.Float, log2b == 1 ? e : Op2("mul.rn.f32", ExprType.Float, e, F32(log2b))));
        }

        string xr = Eval(x);
        string yr = Eval(y);
        string xf = Convert(xr, x.Type, ExprType.Float);
        string yf = Convert(yr, y.Type, ExprType.Float);
        var lg = Op1("lg2.approx.f32", ExprType.Float, xf);
        var p = Op1("ex2.approx.f32", ExprType.Float, Op2("mul.rn.f32", ExprType.Float, lg, yf));
        return Convert(p, ExprType.Float, type);
    }

    /// <summary>A double as PTX's exact hexadecimal form, e.g. <c>0d3FF0000000000000</c>.</summary>
    public static string F64(double value) =>
        "0d" + System.BitConverter.DoubleToInt64Bits(value).ToString("X16", System.Globalization.CultureInfo.InvariantCulture);
}
