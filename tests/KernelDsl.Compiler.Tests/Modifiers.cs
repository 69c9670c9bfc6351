using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// Modifier IR built by hand, as the Roslyn adapter would lower the C# shown on each member (the generator side
/// is tested on its own branch), and the spec matrix of modifier kernels for the ptxas gate.
/// </summary>
internal static class Modifiers
{
    public static Expr F(double v) => new ConstantExpr(ExprType.Float, v);

    public static Expr Int(int v) => new ConstantExpr(ExprType.Int, v);

    public static Expr Score { get; } = new ParameterExpr(ModifierInput.Score);

    public static Expr B { get; } = new ParameterExpr(ModifierInput.Batch);

    public static Expr H { get; } = new ParameterExpr(ModifierInput.Head);

    public static Expr Q { get; } = new ParameterExpr(ModifierInput.QueryIndex);

    public static Expr Kv { get; } = new ParameterExpr(ModifierInput.KeyIndex);

    public static Expr Bin(BinaryOperator op, Expr l, Expr r)
    {
        bool boolResult = op is BinaryOperator.Less or BinaryOperator.LessOrEqual or BinaryOperator.Greater or BinaryOperator.GreaterOrEqual
            or BinaryOperator.Equal or BinaryOperator.NotEqual || l.Type == ExprType.Bool;
        return new BinaryExpr(op, l, r, boolResult ? ExprType.Bool : l.Type);
    }

    public static Expr Call(MathFunction f, params Expr[] args) => new CallExpr(f, args.ToEquatableArray(), args[0].Type);

    public static Expr Conv(Expr e, ExprType to) => new ConvertExpr(e, to);

    public static ModifierSpec ScoreMod(string name, Expr result, params LocalBinding[] locals) =>
        new(ModifierKind.Score, name, new ModifierBody(locals.ToEquatableArray(), result));

    public static ModifierSpec MaskMod(string name, Expr result, params LocalBinding[] locals) =>
        new(ModifierKind.Mask, name, new ModifierBody(locals.ToEquatableArray(), result));

    /// <summary><c>static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);</c></summary>
    public static ModifierSpec Softcap { get; } = ScoreMod("Softcap",
        Bin(BinaryOperator.Multiply, F(30), Call(MathFunction.Tanh, Bin(BinaryOperator.Divide, Score, F(30)))));

    /// <summary>
    /// <c>static float Alibi(float score, int h, int q, int kv) { float slope = MathF.Pow(2f, -8f * (h + 1) / 16f);
    /// return score - slope * Math.Abs(q - kv); }</c>
    /// </summary>
    public static ModifierSpec Alibi { get; } = ScoreMod("Alibi",
        Bin(BinaryOperator.Subtract, Score,
            Bin(BinaryOperator.Multiply, new LocalExpr("slope", ExprType.Float), Conv(Call(MathFunction.Abs, Bin(BinaryOperator.Subtract, Q, Kv)), ExprType.Float))),
        new LocalBinding("slope", Call(MathFunction.Pow, F(2),
            Bin(BinaryOperator.Divide, Bin(BinaryOperator.Multiply, F(-8), Conv(Bin(BinaryOperator.Add, H, Int(1)), ExprType.Float)), F(16)))));

    /// <summary><c>static bool PrefixLm(int q, int kv) => kv &lt; 64 || q &gt;= kv;</c></summary>
    public static ModifierSpec PrefixLm { get; } = MaskMod("PrefixLm",
        Bin(BinaryOperator.Or, Bin(BinaryOperator.Less, Kv, Int(64)), Bin(BinaryOperator.GreaterOrEqual, Q, Kv)));

    /// <summary><c>static bool WindowGlobal(int q, int kv) => kv &lt; 4 || Math.Abs(q - kv) &lt;= 32;</c></summary>
    public static ModifierSpec WindowGlobal { get; } = MaskMod("WindowGlobal",
        Bin(BinaryOperator.Or, Bin(BinaryOperator.Less, Kv, Int(4)), Bin(BinaryOperator.LessOrEqual, Call(MathFunction.Abs, Bin(BinaryOperator.Subtract, Q, Kv)), Int(32))));

    /// <summary><c>static bool SparseRows(int q, int kv) => q % 5 != 2 &amp;&amp; kv % 3 != 1;</c> (every fifth row keeps no key)</summary>
    public static ModifierSpec SparseRows { get; } = MaskMod("SparseRows",
        Bin(BinaryOperator.And, Bin(BinaryOperator.NotEqual, Bin(BinaryOperator.Remainder, Q, Int(5)), Int(2)), Bin(BinaryOperator.NotEqual, Bin(BinaryOperator.Remainder, Kv, Int(3)), Int(1))));

    /// <summary><c>static bool Keep(int b, int h, int q, int kv) => q % 4 != 1 &amp;&amp; (q - kv &lt; 40 || (b + h) % 2 == 0);</c> (reads b and h: one mask row set per batch and head)</summary>
    public static ModifierSpec BatchHeadRows { get; } = MaskMod("BatchHeadRows",
        Bin(BinaryOperator.And,
            Bin(BinaryOperator.NotEqual, Bin(BinaryOperator.Remainder, Q, Int(4)), Int(1)),
            Bin(BinaryOperator.Or,
                Bin(BinaryOperator.Less, Bin(BinaryOperator.Subtract, Q, Kv), Int(40)),
                Bin(BinaryOperator.Equal, Bin(BinaryOperator.Remainder, Bin(BinaryOperator.Add, B, H), Int(2)), Int(0)))));

    /// <summary><c>static bool HeadStride(int h, int q, int kv) => (kv + h) % 3 != 0 || q == kv;</c> (reads h only)</summary>
    public static ModifierSpec HeadStride { get; } = MaskMod("HeadStride",
        Bin(BinaryOperator.Or,
            Bin(BinaryOperator.NotEqual, Bin(BinaryOperator.Remainder, Bin(BinaryOperator.Add, Kv, H), Int(3)), Int(0)),
            Bin(BinaryOperator.Equal, Q, Kv)));

    private static CapturedBuffer SlopesBuffer { get; } = new("slopes", ExprType.Float, new[] { "Hq" }.ToEquatableArray());

    private static CapturedBuffer DocumentsBuffer { get; } = new("documents", ExprType.Int, new[] { "Skv" }.ToEquatableArray());

    private static Expr Read(CapturedBuffer buffer, Expr index) => new BufferReadExpr(buffer.Name, index, buffer.ElementType);

    /// <summary><c>static float Alibi(float score, int h, int q, int kv, [Captured("Hq")] ReadOnlySpan&lt;float&gt; slopes) => score - slopes[h] * (q - kv);</c></summary>
    public static ModifierSpec CapturedAlibi { get; } = ScoreMod("CapturedAlibi",
        Bin(BinaryOperator.Subtract, Score, Bin(BinaryOperator.Multiply, Read(SlopesBuffer, H), Conv(Bin(BinaryOperator.Subtract, Q, Kv), ExprType.Float))))
        with { Buffers = new[] { SlopesBuffer }.ToEquatableArray() };

    /// <summary><c>static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan&lt;int&gt; documents) => documents[q] == documents[kv];</c></summary>
    public static ModifierSpec CapturedDocuments { get; } = MaskMod("CapturedDocuments",
        Bin(BinaryOperator.Equal, Read(DocumentsBuffer, Q), Read(DocumentsBuffer, Kv)))
        with { Buffers = new[] { DocumentsBuffer }.ToEquatableArray() };

    /// <summary>
    /// <c>static bool Guarded(int q, int kv, [Captured("Skv")] ReadOnlySpan&lt;int&gt; documents) =>
    /// q &lt; 4 ? documents[q] == documents[kv] : kv == 0 || documents[q] == documents[kv];</c> (predicated reads on both sides)
    /// </summary>
    public static ModifierSpec CapturedGuarded { get; } = MaskMod("CapturedGuarded",
        new ConditionalExpr(
            Bin(BinaryOperator.Less, Q, Int(4)),
            Bin(BinaryOperator.Equal, Read(DocumentsBuffer, Q), Read(DocumentsBuffer, Kv)),
            Bin(BinaryOperator.Or, Bin(BinaryOperator.Equal, Kv, Int(0)), Bin(BinaryOperator.Equal, Read(DocumentsBuffer, Q), Read(DocumentsBuffer, Kv))),
            ExprType.Bool))
        with { Buffers = new[] { DocumentsBuffer }.ToEquatableArray() };

    /// <summary>
    /// Kernels whose modifiers read captured buffers, for the ptxas gate: ALiBi slopes, document ids, both, x {fp16,
    /// bf16} x D {64, 128}, causal; the predicated-read mask at D = 64 only (at D = 128 its four loads per element
    /// spill 24-44 bytes with ptxas 11.8: a known limit of large mask modifiers there).
    /// </summary>
    public static IEnumerable<AttentionSpec> CapturedPtxMatrix()
    {
        foreach (int d in new[] { 64, 128 })
        {
            foreach (var dtype in new[] { ElementType.FP16, ElementType.BF16 })
            {
                yield return With(Specs.Make(d, null, dtype, Specs.CausalBottomRight, true, name: $"Captured_Alibi_D{d}_{dtype}"), CapturedAlibi, null);
                yield return With(Specs.Make(d, null, dtype, Specs.CausalTopLeft, false, name: $"Captured_Documents_D{d}_{dtype}"), null, CapturedDocuments);
                yield return With(Specs.Make(d, null, dtype, Specs.CausalTopLeft, true, name: $"Captured_Both_D{d}_{dtype}"), CapturedAlibi, CapturedDocuments);
                if (d == 64)
                {
                    yield return With(Specs.Make(d, null, dtype, MaskSpec.None, true, name: $"Captured_Guarded_D{d}_{dtype}"), null, CapturedGuarded);
                }
            }
        }
    }

    /// <summary>
    /// The specs whose block-mask builder kernels the ptxas gate assembles: every mask-modifier spec of the modifier and
    /// captured-buffer matrices (prefix-LM, window + global tokens, sparse rows, document ids, predicated reads, with and
    /// without a score modifier and a band), plus masks reading b and h (both, and h alone) under a sliding window.
    /// </summary>
    public static IEnumerable<AttentionSpec> BlockMaskBuilderMatrix()
    {
        foreach (var spec in PtxMatrix())
        {
            if (spec.MaskModifier is not null)
            {
                yield return spec;
            }
        }

        foreach (var spec in CapturedPtxMatrix())
        {
            if (spec.MaskModifier is not null)
            {
                yield return spec;
            }
        }

        yield return With(Specs.Make(64, null, ElementType.BF16, Specs.CausalTopLeft, true, name: "Mod_BatchHeadRows_D64_BF16"), Softcap, BatchHeadRows);
        yield return With(Specs.Make(128, null, ElementType.FP16, Specs.WindowTopLeft, false, name: "Mod_HeadStride_D128_FP16"), null, HeadStride);
    }

    public static AttentionSpec With(AttentionSpec spec, ModifierSpec? score = null, ModifierSpec? mask = null) =>
        spec with { ScoreModifier = score, MaskModifier = mask };

    /// <summary>
    /// The modifier kernels the ptxas gate assembles (and samples/PtxDump --mods writes for the device check): each
    /// library modifier x {fp16, bf16} x D {64, 128}, plus score+mask combinations with and without a band.
    /// </summary>
    public static IEnumerable<AttentionSpec> PtxMatrix()
    {
        foreach (var (spec, _) in PtxMatrixNamed())
        {
            yield return spec;
        }
    }

    /// <summary>The matrix with each kernel's modifier-set name (what the device harness keys its reference on).</summary>
    public static IEnumerable<(AttentionSpec Spec, string Set)> PtxMatrixNamed()
    {
        var mods = new (string Name, ModifierSpec? Score, ModifierSpec? Mask, MaskSpec Band)[]
        {
            ("Softcap", Softcap, null, MaskSpec.None),
            ("Alibi", Alibi, null, Specs.CausalBottomRight),
            ("PrefixLm", null, PrefixLm, MaskSpec.None),
            ("WindowGlobal", null, WindowGlobal, MaskSpec.None),
            ("SoftcapWindowGlobalCausal", Softcap, WindowGlobal, Specs.CausalTopLeft),
            ("AlibiSparseRows", Alibi, SparseRows, MaskSpec.None),
        };
        int i = 0;
        foreach (int d in new[] { 64, 128 })
        {
            foreach (var dtype in new[] { ElementType.FP16, ElementType.BF16 })
            {
                foreach (var (name, score, mask, band) in mods)
                {
                    bool lse = i++ % 2 == 0;
                    yield return (With(Specs.Make(d, null, dtype, band, lse, name: $"Mod_{name}_D{d}_{dtype}{(lse ? "_Lse" : string.Empty)}"), score, mask), name);
                }
            }
        }
    }
}
