using System.Collections.Generic;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Lowers a modifier's expression IR into PTX registers with C# semantics: Float → .f32, Double → .f64,
/// Int → .s32 (32-bit wrapping), Bool → .pred. Each temporary is declared (through the construction layer's
/// <see cref="PtxWriterRegisters"/>) where it is produced, in the
/// caller's current register scope, so a caller evaluating one score element per <c>{ }</c> scope keeps only a
/// handful of registers live (ptxas reuses them across elements). Every instruction is written through the layer's
/// vocabulary (<see cref="PtxOps"/>). Approximations (ex2/lg2/tanh.approx) and
/// their error bounds are listed in <see cref="Planning.ModifierMathNotes"/>, which the GPU plan text prints.
/// </summary>
internal sealed class ExprPtxWriter
{
    private readonly PtxWriter _w;
    private readonly System.Func<ModifierInput, Reg> _input;
    private readonly IReadOnlyDictionary<Expr, Reg> _hoisted;
    private readonly System.Func<string, CapturedBufferAccess>? _bufferBase;
    private readonly Dictionary<string, Reg> _locals = new(System.StringComparer.Ordinal);
    private readonly string _prefix;
    private int _next;

    /// <summary>
    /// The predicate under which the expression being lowered is evaluated in C# (null: always). PTX evaluates both
    /// sides of ?:, &amp;&amp; and || and selects; that is harmless for arithmetic, but a buffer read that C# would not
    /// perform (e.g. <c>q &lt; n ? docs[q] : -1</c>) must not touch memory, so reads under a guard are predicated.
    /// </summary>
    private Reg? _guard;

    /// <param name="writer">Where instructions go (inside the caller's scope).</param>
    /// <param name="input">The register holding each modifier input (score: .f32; b, h, q, kv: 32-bit integers).</param>
    /// <param name="hoisted">Subexpressions already evaluated into registers (e.g. once per kernel); may be empty.</param>
    /// <param name="prefix">Name prefix of temporaries, unique within the enclosing scope.</param>
    /// <param name="bufferBase">Each captured buffer's global address register and element count (by buffer name).</param>
    public ExprPtxWriter(
        PtxWriter writer,
        System.Func<ModifierInput, Reg> input,
        IReadOnlyDictionary<Expr, Reg>? hoisted = null,
        string prefix = "%me",
        System.Func<string, CapturedBufferAccess>? bufferBase = null)
    {
        _w = writer;
        _input = input;
        _hoisted = hoisted ?? new Dictionary<Expr, Reg>();
        _prefix = prefix;
        _bufferBase = bufferBase;
    }

    /// <summary>
    /// Evaluates, into registers, the largest subexpressions of <paramref name="body"/> that depend only on the
    /// batch and head (and constants): the caller emits this once per kernel, outside the KV loop, and passes the
    /// map to the per-element writers, so e.g. an ALiBi slope 2^(-8(h+1)/H) costs one ex2 per thread, not one per
    /// score. Returns the map from subexpression to register.
    /// </summary>
    public Dictionary<Expr, Reg> Hoist(ModifierBody body)
    {
        var hoisted = new Dictionary<Expr, Reg>();
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

    /// <summary>
    /// Evaluates the locals in order, then the result; returns the register holding the result (a predicate for a
    /// mask modifier's bool, an f32 for a score modifier's float).
    /// </summary>
    public Reg Lower(ModifierBody body)
    {
        foreach (var local in body.Locals)
        {
            _locals[local.Name] = Eval(local.Value);
        }

        return Eval(body.Result);
    }

    /// <summary>The register holding <paramref name="e"/>'s value (a new temporary, an input, a local or a hoisted value).</summary>
    public Reg Eval(Expr e)
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
    private Reg Guarded(Expr e, Reg condition, bool negate)
    {
        if (!ReadsBuffer(e))
        {
            return Eval(e);
        }

        var outer = _guard;
        var guard = Temp(ExprType.Bool);
        if (negate)
        {
            _w.Not(Pred, guard, condition);
        }
        else
        {
            _w.Mov(Pred, guard, condition);
        }

        if (outer is not null)
        {
            _w.And(Pred, guard, guard, outer);
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
    /// buffer[index]: a 4-byte element at base + 4·index, read through the non-coherent (read-only) cache: the buffer
    /// is never written while the kernel runs. The index is first clamped to the buffer's last element with one
    /// unsigned min (a negative C# index is a large unsigned one, so it clamps too): an index outside the buffer reads
    /// its last element, never memory outside it, where the CPU kernel throws. The last index is a kernel parameter
    /// loaded at the min (see <see cref="CapturedBufferAccess"/>): ptxas takes it from the constant bank, so the guard
    /// holds no register across the loop and no predicate per read (a predicated form, index &lt; length, spilled on the
    /// predicated-read mask spec: ptxas 11.8 sm_80 16 bytes, 12.4 sm_90 44, the loads' predicates in flight). An index
    /// inside the buffer by construction (<see cref="CapturedBufferAccess.InRangeByConstruction"/>, e.g. slopes[h] of a
    /// [Hq] buffer) is read unclamped.
    /// </summary>
    private Reg BufferRead(BufferReadExpr r)
    {
        var index = Eval(r.Index);
        var buffer = _bufferBase?.Invoke(r.Buffer) ?? throw new System.InvalidOperationException("no base register for captured buffer '" + r.Buffer + "'");
        Reg address;
        if (buffer.InRangeByConstruction(r.Index))
        {
            address = Temp(RegKind.B64);
            _w.MulWide(S32, address, index, 4);
        }
        else
        {
            var clamped = Temp(RegKind.S32);
            buffer.LoadLastIndex(_w, clamped);
            _w.Min(U32, clamped, index, clamped);
            address = Temp(RegKind.B64);
            _w.MulWide(U32, address, clamped, 4);
        }

        _w.Add(S64, address, address, buffer.Address);
        var t = Temp(r.ElementType);
        var type = Type(r.ElementType);
        if (_guard is null)
        {
            _w.LdGlobalNc(type, t, address);
        }
        else
        {
            // Not read where C# would not read it: the value is then unused (the select takes the other side).
            _w.Mov(type, t, 0);
            using (_w.When(_guard))
            {
                _w.LdGlobalNc(type, t, address);
            }
        }

        return t;
    }

    /// <summary>The instruction type of an IR type's register.</summary>
    private static PtxType Type(ExprType type) => type switch
    {
        ExprType.Bool => Pred,
        ExprType.Int => S32,
        ExprType.Float => F32,
        _ => F64,
    };

    /// <summary>A new temporary of the IR type, declared through the layer in the caller's current scope.</summary>
    private Reg Temp(ExprType type) => Temp(type switch
    {
        ExprType.Bool => RegKind.Pred,
        ExprType.Int => RegKind.S32,
        ExprType.Float => RegKind.F32,
        _ => RegKind.F64,
    });

    private Reg Temp(RegKind kind) => _w.Declare1(kind, _prefix.Substring(1) + PtxLiteral.I(_next++));

    /// <summary>A new temporary of <paramref name="type"/> that <paramref name="emit"/> writes (the temporary is declared first).</summary>
    private Reg Result(ExprType type, System.Action<Reg> emit)
    {
        var t = Temp(type);
        emit(t);
        return t;
    }

    private Reg Constant(ExprType type, double value)
    {
        var t = Temp(type);
        switch (type)
        {
            case ExprType.Bool:
            {
                var bits = Temp(ExprType.Int);
                _w.Mov(S32, bits, value != 0 ? 1 : 0);
                _w.Setp(Cmp.Ne, S32, t, bits, 0);
                break;
            }

            case ExprType.Int:
                _w.Mov(S32, t, (int)value);
                break;
            case ExprType.Float:
                _w.Mov(F32, t, Operand.F32(value));
                break;
            default:
                _w.Mov(F64, t, Operand.F64(value));
                break;
        }

        return t;
    }

    private Reg Unary(UnaryExpr u)
    {
        var a = Eval(u.Operand);
        var t = Temp(u.Type);
        if (u.Operator == UnaryOperator.Not)
        {
            // ! on a bool, ~ on an int
            _w.Not(u.Type == ExprType.Bool ? Pred : B32, t, a);
        }
        else
        {
            _w.Neg(Type(u.Type), t, a);
        }

        return t;
    }

    private Reg Binary(BinaryExpr b)
    {
        var l = Eval(b.Left);
        var r = b.Operator is BinaryOperator.And or BinaryOperator.Or && b.Left.Type == ExprType.Bool
            ? Guarded(b.Right, l, negate: b.Operator == BinaryOperator.Or)
            : Eval(b.Right);
        var operand = b.Left.Type;
        var ty = Type(operand);
        bool isFloat = operand is ExprType.Float or ExprType.Double;

        switch (b.Operator)
        {
            case BinaryOperator.Add:
            case BinaryOperator.Subtract:
            case BinaryOperator.Multiply:
            case BinaryOperator.Divide:
                return Arithmetic(b.Operator, b.Type, ty, isFloat, l, r);
            case BinaryOperator.Remainder:
                return isFloat ? FloatRemainder(l, r, operand) : Result(b.Type, t => _w.Rem(S32, t, l, r));
            case BinaryOperator.Less:
                return Compare(Cmp.Lt, l, r, operand);
            case BinaryOperator.LessOrEqual:
                return Compare(Cmp.Le, l, r, operand);
            case BinaryOperator.Greater:
                return Compare(Cmp.Gt, l, r, operand);
            case BinaryOperator.GreaterOrEqual:
                return Compare(Cmp.Ge, l, r, operand);
            case BinaryOperator.Equal:
                return Compare(Cmp.Eq, l, r, operand);
            case BinaryOperator.NotEqual:
                // C#: x != y is true when either is NaN, hence the unordered .neu (the ordered ones above are false on NaN).
                return Compare(isFloat ? Cmp.Neu : Cmp.Ne, l, r, operand);
            case BinaryOperator.And:
                return Result(b.Type, t => _w.And(operand == ExprType.Bool ? Pred : B32, t, l, r));
            case BinaryOperator.Or:
                return Result(b.Type, t => _w.Or(operand == ExprType.Bool ? Pred : B32, t, l, r));
            default:
                throw new System.NotSupportedException("no PTX lowering for operator " + b.Operator);
        }
    }

    /// <summary>
    /// + − · ÷. On floats .rn: IEEE round-to-nearest and no contraction into fma (the .NET JIT does not contract
    /// either); on ints the low half of the product and the truncating signed divide, as C#.
    /// </summary>
    private Reg Arithmetic(BinaryOperator op, ExprType type, PtxType ty, bool isFloat, Reg l, Reg r)
    {
        var t = Temp(type);
        switch (op)
        {
            case BinaryOperator.Add when isFloat:
                _w.AddRn(ty, t, l, r);
                break;
            case BinaryOperator.Add:
                _w.Add(ty, t, l, r);
                break;
            case BinaryOperator.Subtract when isFloat:
                _w.SubRn(ty, t, l, r);
                break;
            case BinaryOperator.Subtract:
                _w.Sub(ty, t, l, r);
                break;
            case BinaryOperator.Multiply when isFloat:
                _w.MulRn(ty, t, l, r);
                break;
            case BinaryOperator.Multiply:
                _w.MulLo(ty, t, l, r);
                break;
            case BinaryOperator.Divide when isFloat:
                _w.DivRn(ty, t, l, r);
                break;
            default:
                _w.Div(ty, t, l, r);
                break;
        }

        return t;
    }

    private Reg Compare(Cmp cmp, Reg l, Reg r, ExprType operand)
    {
        var t = Temp(ExprType.Bool);
        if (operand == ExprType.Bool)
        {
            // bool == bool / bool != bool
            _w.Xor(Pred, t, l, r);
            if (cmp == Cmp.Eq)
            {
                _w.Not(Pred, t, t);
            }

            return t;
        }

        _w.Setp(cmp, Type(operand), t, l, r);
        return t;
    }

    /// <summary>
    /// C#'s floating <c>%</c> (fmod: truncated quotient, result has the dividend's sign), in f64: r = x − trunc(x/y)·y
    /// with one fma (exact), then a sign fix when x/y rounded up to the next integer. Exact while |x/y| &lt; 2^52.
    /// </summary>
    private Reg FloatRemainder(Reg l, Reg r, ExprType type)
    {
        var x = type == ExprType.Double ? l : Convert(l, type, ExprType.Double);
        var y = type == ExprType.Double ? r : Convert(r, type, ExprType.Double);
        var q = Temp(ExprType.Double);
        var rem = Temp(ExprType.Double);
        var fix = Temp(ExprType.Double);
        var wrong = Temp(ExprType.Bool);
        _w.DivRn(F64, q, x, y);
        _w.CvtRzi(F64, F64, q, q);
        _w.Neg(F64, q, q);
        _w.Fma(F64, rem, q, y, x);
        _w.MulRn(F64, fix, rem, x);
        _w.Setp(Cmp.Lt, F64, wrong, fix, Operand.F64(0));
        _w.Abs(F64, fix, y);
        _w.CopySign(F64, fix, x, fix);
        using (_w.When(wrong))
        {
            _w.AddRn(F64, rem, rem, fix);
        }

        return type == ExprType.Double ? rem : Convert(rem, ExprType.Double, type);
    }

    private Reg Conditional(ConditionalExpr c)
    {
        var cond = Eval(c.Condition);
        var a = Guarded(c.WhenTrue, cond, negate: false);
        var b = Guarded(c.WhenFalse, cond, negate: true);
        var t = Temp(c.Type);
        if (c.Type == ExprType.Bool)
        {
            // (cond && a) || (!cond && b), all predicates
            var other = Temp(ExprType.Bool);
            _w.And(Pred, t, cond, a);
            _w.Not(Pred, other, cond);
            _w.And(Pred, other, other, b);
            _w.Or(Pred, t, t, other);
            return t;
        }

        _w.Selp(Type(c.Type), t, a, b, cond);
        return t;
    }

    /// <summary>
    /// C# conversions: int → float/double rounds to nearest; float/double → int truncates toward zero
    /// (cvt.rzi saturates and maps NaN to 0, as .NET 9+ does on every platform); double → float rounds to nearest.
    /// </summary>
    private Reg Convert(Reg a, ExprType from, ExprType to)
    {
        if (from == to)
        {
            return a;
        }

        var t = Temp(to);
        if (from == ExprType.Bool)
        {
            _w.Selp(Type(to), t, One(to), Zero(to), a);
        }
        else if (to == ExprType.Bool)
        {
            _w.Setp(Cmp.Ne, Type(from), t, a, Zero(from));
        }
        else if (to == ExprType.Int)
        {
            _w.CvtRzi(S32, Type(from), t, a);
        }
        else if (from == ExprType.Float && to == ExprType.Double)
        {
            _w.Cvt(F64, F32, t, a);   // exact
        }
        else
        {
            _w.CvtRn(Type(to), Type(from), t, a);
        }

        return t;
    }

    private static Operand Zero(ExprType type) => type == ExprType.Float ? Operand.Zero : type == ExprType.Double ? Operand.F64(0) : 0;

    private static Operand One(ExprType type) => type == ExprType.Float ? Operand.F32(1) : type == ExprType.Double ? Operand.F64(1) : 1;

    private Reg Call(CallExpr c)
    {
        var args = c.Arguments;
        var ty = Type(c.Type);
        switch (c.Function)
        {
            case MathFunction.Abs:
            {
                var a = Eval(args[0]);
                return Result(c.Type, t => _w.Abs(ty, t, a));
            }

            case MathFunction.Min:
            case MathFunction.Max:
                return MinMax(c.Function == MathFunction.Min, c.Type, Eval(args[0]), Eval(args[1]));
            case MathFunction.Sqrt:
            {
                var a = Eval(args[0]);
                return c.Type == ExprType.Int ? a : Result(c.Type, t => _w.SqrtRn(ty, t, a));
            }

            case MathFunction.Floor:
            {
                var a = Eval(args[0]);
                return c.Type == ExprType.Int ? a : Result(c.Type, t => _w.CvtRmi(ty, ty, t, a));
            }

            case MathFunction.Ceiling:
            {
                var a = Eval(args[0]);
                return c.Type == ExprType.Int ? a : Result(c.Type, t => _w.CvtRpi(ty, ty, t, a));
            }

            case MathFunction.Exp:
                return InF32(c.Type, Eval(args[0]), Exp);
            case MathFunction.Log:
                return InF32(c.Type, Eval(args[0]), Log);
            case MathFunction.Tanh:
                return InF32(c.Type, Eval(args[0]), x => Result(ExprType.Float, t => _w.Tanh(t, x)));
            case MathFunction.Pow:
                return Pow(c.Type, args[0], args[1]);
            default:
                throw new System.NotSupportedException("no PTX lowering for Math." + c.Function);
        }
    }

    /// <summary>
    /// Math.Min/Max: NaN if either argument is NaN (.NET Core 3.0+), -0 below +0. f32 has min/max.NaN (sm_80,
    /// PTX 7.0); f64 has no .NaN form, so a NaN operand is propagated with setp.nan + selp.
    /// </summary>
    private Reg MinMax(bool min, ExprType type, Reg a, Reg b)
    {
        var t = Temp(type);
        var ty = Type(type);
        if (type == ExprType.Float)
        {
            if (min)
            {
                _w.MinNaN(ty, t, a, b);
            }
            else
            {
                _w.MaxNaN(ty, t, a, b);
            }

            return t;
        }

        if (min)
        {
            _w.Min(ty, t, a, b);
        }
        else
        {
            _w.Max(ty, t, a, b);
        }

        if (type == ExprType.Int)
        {
            return t;
        }

        var nan = Temp(ExprType.Bool);
        var sum = Temp(ExprType.Double);
        _w.Setp(Cmp.Nan, F64, nan, a, b);
        _w.AddRn(F64, sum, a, b);
        _w.Selp(F64, t, sum, t, nan);
        return t;
    }

    /// <summary>A transcendental evaluated in f32 (the hardware approximations are f32 only); double arguments round-trip through f32.</summary>
    private Reg InF32(ExprType type, Reg a, System.Func<Reg, Reg> f32)
    {
        if (type == ExprType.Float)
        {
            return f32(a);
        }

        var x = Convert(a, type, ExprType.Float);
        return Convert(f32(x), ExprType.Float, type);
    }

    /// <summary>exp(x) = 2^(x·log2 e): ex2.approx without ftz, so subnormal results survive.</summary>
    private Reg Exp(Reg x)
    {
        var t = Result(ExprType.Float, d => _w.MulRn(F32, d, x, Operand.F32(Constants.Log2E)));
        return Result(ExprType.Float, d => _w.Ex2KeepingSubnormals(d, t));
    }

    /// <summary>ln(x) = log2(x)·ln 2: lg2.approx (no ftz).</summary>
    private Reg Log(Reg x)
    {
        var t = Result(ExprType.Float, d => _w.Lg2(d, x));
        return Result(ExprType.Float, d => _w.MulRn(F32, d, t, Operand.F32(Constants.Ln2)));
    }

    /// <summary>
    /// Math.Pow. Constant integer exponent |n| ≤ 64: square-and-multiply (1/x^|n| for n &lt; 0; Pow(x, 0) = 1, NaN
    /// included, as in C#). Constant positive base b: 2^(y·log2 b), log2 b folded (b = 2: ex2 alone). Otherwise
    /// 2^(y·log2 x), which gives NaN for x &lt; 0 (right for non-integer y, as C#).
    /// </summary>
    private Reg Pow(ExprType type, Expr x, Expr y)
    {
        if (y is ConstantExpr ce && ce.Value == System.Math.Floor(ce.Value) && System.Math.Abs(ce.Value) <= 64)
        {
            int n = (int)ce.Value;
            if (n == 0)
            {
                return Constant(type, 1);
            }

            var xb = Eval(x);
            if (type == ExprType.Int)
            {
                xb = Convert(xb, ExprType.Int, ExprType.Double);
                type = ExprType.Double;
            }

            var ty = Type(type);
            Reg? acc = null;
            var square = xb;
            for (int k = System.Math.Abs(n); k > 0; k >>= 1)
            {
                if ((k & 1) != 0)
                {
                    var (left, right) = (acc, square);
                    acc = left is null ? square : Result(type, t => _w.MulRn(ty, t, left, right));
                }

                if (k > 1)
                {
                    var s = square;
                    square = Result(type, t => _w.MulRn(ty, t, s, s));
                }
            }

            var product = acc!;
            return n > 0 ? product : Result(type, t => _w.DivRn(ty, t, One(type), product));
        }

        if (x is ConstantExpr cb && cb.Value > 0)
        {
            double log2b = System.Math.Log(cb.Value, 2);
            return InF32(type, Eval(y), e =>
            {
                var power = log2b == 1 ? e : Result(ExprType.Float, t => _w.MulRn(F32, t, e, Operand.F32(log2b)));
                return Result(ExprType.Float, t => _w.Ex2KeepingSubnormals(t, power));
            });
        }

        var xr = Eval(x);
        var yr = Eval(y);
        var xf = Convert(xr, x.Type, ExprType.Float);
        var yf = Convert(yr, y.Type, ExprType.Float);
        var lg = Result(ExprType.Float, t => _w.Lg2(t, xf));
        var scaled = Result(ExprType.Float, t => _w.MulRn(F32, t, lg, yf));
        var p = Result(ExprType.Float, t => _w.Ex2KeepingSubnormals(t, scaled));
        return Convert(p, ExprType.Float, type);
    }
}
