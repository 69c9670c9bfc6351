using System.Collections.Generic;
using System.IO;
using System.Linq;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model.Expressions;
using Shouldly;
using Xunit;
using static KernelDsl.Compiler.Tests.Modifiers;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The IR → PTX lowering, one case per node kind (and per type where the lowering differs): the standalone module
/// of the modifier holds the instructions that give C# semantics, and ptxas assembles every case.
/// </summary>
public sealed class ExprPtxWriterTests
{
    private static Expr D(double v) => new ConstantExpr(ExprType.Double, v);

    private static Expr Bool(bool v) => new ConstantExpr(ExprType.Bool, v ? 1 : 0);

    private static Expr ToF(Expr e) => Conv(e, ExprType.Float);

    private static Expr Sel(Expr c, Expr a, Expr b) => new ConditionalExpr(c, a, b, a.Type);

    private static Expr Not(Expr e) => new UnaryExpr(UnaryOperator.Not, e, ExprType.Bool);

    private static Expr Neg(Expr e) => new UnaryExpr(UnaryOperator.Negate, e, e.Type);

    private static Expr Qf => ToF(Q);

    /// <summary>name → (modifier, instructions its PTX must hold, instructions it must not hold).</summary>
    private static readonly Dictionary<string, (ModifierSpec Mod, string[] Has, string[] HasNot)> Cases = new()
    {
        ["float constant, add"] = (ScoreMod("c", Bin(BinaryOperator.Add, Score, F(1.5))), new[] { "mov.f32 %me0, 0f3FC00000", "add.rn.f32" }, new string[0]),
        ["double constant and conversions"] = (ScoreMod("c", ToF(Bin(BinaryOperator.Multiply, Conv(Score, ExprType.Double), D(2)))), new[] { "mov.f64 %me1, 0d4000000000000000", "cvt.f64.f32", "mul.rn.f64", "cvt.rn.f32.f64" }, new string[0]),
        ["bool constant"] = (MaskMod("c", Bool(true)), new[] { "mov.s32", "setp.ne.s32" }, new string[0]),
        ["int inputs, int to float"] = (ScoreMod("p", ToF(Bin(BinaryOperator.Add, Bin(BinaryOperator.Add, B, H), Bin(BinaryOperator.Add, Q, Kv)))), new[] { "add.s32 %me0, %batch, %head", "add.s32 %me1, %row, %kv", "cvt.rn.f32.s32" }, new string[0]),
        ["locals"] = (ScoreMod("l", Bin(BinaryOperator.Multiply, new LocalExpr("x", ExprType.Float), new LocalExpr("x", ExprType.Float)), new LocalBinding("x", Bin(BinaryOperator.Add, Score, F(1)))), new[] { "add.rn.f32 %me1, %score, %me0", "mul.rn.f32 %me2, %me1, %me1" }, new string[0]),
        ["negate float"] = (ScoreMod("n", Neg(Score)), new[] { "neg.f32" }, new string[0]),
        ["negate int"] = (ScoreMod("n", ToF(Neg(Q))), new[] { "neg.s32" }, new string[0]),
        ["not"] = (MaskMod("n", Not(Bin(BinaryOperator.Less, Q, Kv))), new[] { "setp.lt.s32", "not.pred" }, new string[0]),
        ["float sub mul div"] = (ScoreMod("a", Bin(BinaryOperator.Divide, Bin(BinaryOperator.Multiply, Bin(BinaryOperator.Subtract, Score, Qf), Qf), F(3))), new[] { "sub.rn.f32", "mul.rn.f32", "div.rn.f32" }, new[] { "div.approx", "div.full", "fma" }),
        ["int mul div rem"] = (ScoreMod("i", ToF(Bin(BinaryOperator.Remainder, Bin(BinaryOperator.Divide, Bin(BinaryOperator.Multiply, Q, Kv), Int(7)), Int(5)))), new[] { "mul.lo.s32", "div.s32", "rem.s32" }, new[] { "div.u32", "rem.u32" }),
        ["float remainder (fmod)"] = (ScoreMod("r", Bin(BinaryOperator.Remainder, Score, F(2.5))), new[] { "div.rn.f64", "cvt.rzi.f64.f64", "fma.rn.f64", "copysign.f64" }, new string[0]),
        ["float comparisons (ordered; != unordered)"] = (MaskMod("f",
            Bin(BinaryOperator.And, Bin(BinaryOperator.And, Bin(BinaryOperator.Less, Qf, F(1)), Bin(BinaryOperator.LessOrEqual, Qf, F(2))),
                Bin(BinaryOperator.And, Bin(BinaryOperator.And, Bin(BinaryOperator.Greater, Qf, F(3)), Bin(BinaryOperator.GreaterOrEqual, Qf, F(4))),
                    Bin(BinaryOperator.And, Bin(BinaryOperator.Equal, Qf, F(5)), Bin(BinaryOperator.NotEqual, Qf, F(6)))))),
            new[] { "setp.lt.f32", "setp.le.f32", "setp.gt.f32", "setp.ge.f32", "setp.eq.f32", "setp.neu.f32", "and.pred" }, new[] { "setp.ltu", "setp.leu", "setp.gtu", "setp.geu", "setp.equ", "setp.ne.f32" }),
        ["int comparisons, or"] = (MaskMod("i",
            Bin(BinaryOperator.Or, Bin(BinaryOperator.Or, Bin(BinaryOperator.Greater, Q, Kv), Bin(BinaryOperator.GreaterOrEqual, Q, Kv)),
                Bin(BinaryOperator.Or, Bin(BinaryOperator.LessOrEqual, Q, Kv), Bin(BinaryOperator.Or, Bin(BinaryOperator.Equal, Q, Kv), Bin(BinaryOperator.NotEqual, Q, Kv))))),
            new[] { "setp.gt.s32", "setp.ge.s32", "setp.le.s32", "setp.eq.s32", "setp.ne.s32", "or.pred" }, new[] { ".u32 %me" }),
        ["bool equality"] = (MaskMod("e", Bin(BinaryOperator.Equal, Bin(BinaryOperator.Less, Q, Kv), Bin(BinaryOperator.Less, Kv, Int(3)))), new[] { "xor.pred", "not.pred" }, new string[0]),
        ["conditional float"] = (ScoreMod("c", Sel(Bin(BinaryOperator.Less, Q, Kv), Score, F(0))), new[] { "selp.f32" }, new string[0]),
        ["conditional bool"] = (MaskMod("c", Sel(Bin(BinaryOperator.Less, Q, Kv), Bin(BinaryOperator.Less, Kv, Int(8)), Bool(false))), new[] { "and.pred", "or.pred", "not.pred" }, new string[0]),
        ["float to int truncates"] = (ScoreMod("t", ToF(Conv(Score, ExprType.Int))), new[] { "cvt.rzi.s32.f32" }, new[] { "cvt.rni.s32", "cvt.rmi.s32" }),
        ["double to int, int to double"] = (ScoreMod("t", ToF(Conv(Conv(Q, ExprType.Double), ExprType.Int))), new[] { "cvt.rn.f64.s32", "cvt.rzi.s32.f64" }, new string[0]),
        ["abs"] = (ScoreMod("a", Bin(BinaryOperator.Add, Call(MathFunction.Abs, Score), ToF(Call(MathFunction.Abs, Q)))), new[] { "abs.f32", "abs.s32" }, new string[0]),
        ["min max float (NaN-propagating)"] = (ScoreMod("m", Call(MathFunction.Max, Call(MathFunction.Min, Score, F(1)), F(-1))), new[] { "min.NaN.f32", "max.NaN.f32" }, new string[0]),
        ["min max int"] = (ScoreMod("m", ToF(Call(MathFunction.Max, Call(MathFunction.Min, Q, Kv), Int(0)))), new[] { "min.s32", "max.s32" }, new string[0]),
        ["max double (NaN-propagating)"] = (ScoreMod("m", ToF(Call(MathFunction.Max, Conv(Score, ExprType.Double), D(0)))), new[] { "max.f64", "setp.nan.f64", "selp.f64" }, new string[0]),
        ["exp"] = (ScoreMod("e", Call(MathFunction.Exp, Score)), new[] { "mul.rn.f32 %me0, %score, 0f3FB8AA3B", "ex2.approx.f32 %me1, %me0" }, new[] { "ex2.approx.ftz" }),
        ["exp double (through f32)"] = (ScoreMod("e", ToF(Call(MathFunction.Exp, Conv(Score, ExprType.Double)))), new[] { "cvt.rn.f32.f64", "ex2.approx.f32", "cvt.f64.f32" }, new string[0]),
        ["log"] = (ScoreMod("l", Call(MathFunction.Log, Score)), new[] { "lg2.approx.f32", "0f3F317218" }, new[] { "lg2.approx.ftz" }),
        ["tanh"] = (ScoreMod("t", Call(MathFunction.Tanh, Score)), new[] { "tanh.approx.f32" }, new string[0]),
        ["sqrt"] = (ScoreMod("s", Call(MathFunction.Sqrt, Score)), new[] { "sqrt.rn.f32" }, new[] { "sqrt.approx" }),
        ["sqrt double"] = (ScoreMod("s", ToF(Call(MathFunction.Sqrt, Conv(Score, ExprType.Double)))), new[] { "sqrt.rn.f64" }, new string[0]),
        ["floor ceiling"] = (ScoreMod("f", Bin(BinaryOperator.Add, Call(MathFunction.Floor, Score), Call(MathFunction.Ceiling, Score))), new[] { "cvt.rmi.f32.f32", "cvt.rpi.f32.f32" }, new string[0]),
        ["floor double"] = (ScoreMod("f", ToF(Call(MathFunction.Floor, Conv(Score, ExprType.Double)))), new[] { "cvt.rmi.f64.f64" }, new string[0]),
        ["pow constant integer exponent"] = (ScoreMod("p", Call(MathFunction.Pow, Score, F(3))), new[] { "mul.rn.f32 %me0, %score, %score", "mul.rn.f32 %me1, %score, %me0" }, new[] { "ex2", "lg2" }),
        ["pow negative integer exponent"] = (ScoreMod("p", Call(MathFunction.Pow, Score, F(-2))), new[] { "mul.rn.f32", "div.rn.f32" }, new[] { "ex2" }),
        ["pow zero exponent is one"] = (ScoreMod("p", Call(MathFunction.Pow, Score, F(0))), new[] { "mov.f32 %me0, 0f3F800000" }, new[] { "mul.rn", "ex2" }),
        ["pow fractional exponent"] = (ScoreMod("p", Call(MathFunction.Pow, Score, F(0.75))), new[] { "lg2.approx.f32", "ex2.approx.f32", "0f3F400000" }, new string[0]),
        ["pow constant base two"] = (ScoreMod("p", Call(MathFunction.Pow, F(2), Score)), new[] { "ex2.approx.f32 %me0, %score" }, new[] { "lg2" }),
        ["pow constant base ten"] = (ScoreMod("p", Call(MathFunction.Pow, F(10), Score)), new[] { "mul.rn.f32 %me0, %score, 0f40549A78", "ex2.approx.f32" }, new[] { "lg2" }),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Lowering_uses_the_instructions_that_give_csharp_semantics(string name)
    {
        var (mod, has, hasNot) = Cases[name];
        string ptx = ModifierPtx.Standalone(mod);
        foreach (var instruction in has)
        {
            ptx.ShouldContain(instruction, Case.Sensitive, $"{name}:\n{ptx}");
        }

        string body = ptx.Substring(ptx.IndexOf("// the modifier body", System.StringComparison.Ordinal));
        foreach (var instruction in hasNot)
        {
            body.ShouldNotContain(instruction, Case.Sensitive, $"{name}:\n{ptx}");
        }
    }

    [Fact]
    public void Every_case_assembles_with_ptxas_for_sm80_and_sm90()
    {
        if (PtxTools.Ptxas is null)
        {
            Assert.Skip(PtxTools.MissingReason);
        }

        string dir = Path.Combine(Path.GetTempPath(), "kdsl-expr-" + System.Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var failures = new List<string>();
        int i = 0;
        foreach (var (name, (mod, _, _)) in Cases.Select(kv => (kv.Key, kv.Value)))
        {
            string path = Path.Combine(dir, "case" + i++ + ".ptx");
            File.WriteAllText(path, ModifierPtx.Standalone(mod));
            foreach (var arch in new[] { "sm_80", "sm_90" })
            {
                var (code, output) = PtxTools.Run(PtxTools.Ptxas!, $"-arch={arch} \"{path}\" -o \"{path}.{arch}.cubin\"");
                if (code != 0)
                {
                    failures.Add($"{name} ({arch}): {output}");
                }
            }
        }

        Directory.Delete(dir, recursive: true);
        failures.ShouldBeEmpty(string.Join("\n", failures));
    }
}
