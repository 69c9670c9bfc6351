using System;
using System.Linq;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using Shouldly;
using Xunit;
using static KernelDsl.Compiler.Tests.Modifiers;

namespace KernelDsl.Compiler.Tests;

// The symbolic derivative of modifier IR against central finite differences of the same IR, evaluated in double by
// an independent evaluator, at random points away from kinks; the subgradient rules at kinks; and every construct
// whose derivative is not defined.
public sealed class ExprDerivativeTests(ITestOutputHelper output)
{
    private static Expr Local(string name) => new LocalExpr(name, ExprType.Float);

    private static Expr Fn(MathFunction f, params Expr[] args) => Call(f, args);

    public static TheoryData<string> Bodies() => new() { "softcap", "locals", "conditional", "double", "powBase", "sigmoid", "remainder", "alibi" };

    private static ModifierBody Body(string name) => name switch
    {
        "softcap" => Softcap.Body,
        // float t = score * 0.5f; float u = Exp(t) + Log(Abs(score) + 1); return Sqrt(u) * Pow(t, 3) + Min(score, 1) - Max(score, -1);
        "locals" => new ModifierBody(
            new[]
            {
                new LocalBinding("t", Bin(BinaryOperator.Multiply, Score, F(0.5))),
                new LocalBinding("u", Bin(BinaryOperator.Add, Fn(MathFunction.Exp, Local("t")), Fn(MathFunction.Log, Bin(BinaryOperator.Add, Fn(MathFunction.Abs, Score), F(1))))),
            }.ToEquatableArray(),
            Bin(BinaryOperator.Subtract,
                Bin(BinaryOperator.Add,
                    Bin(BinaryOperator.Multiply, Fn(MathFunction.Sqrt, Local("u")), Fn(MathFunction.Pow, Local("t"), F(3))),
                    Fn(MathFunction.Min, Score, F(1))),
                Fn(MathFunction.Max, Score, F(-1)))),
        // score > 0 ? Tanh(score) : score * 0.1f
        "conditional" => new ModifierBody(EquatableArray<LocalBinding>.Empty, new ConditionalExpr(
            Bin(BinaryOperator.Greater, Score, F(0)), Fn(MathFunction.Tanh, Score), Bin(BinaryOperator.Multiply, Score, F(0.1)), ExprType.Float)),
        // (float)(Math.Exp((double)score) / 10d) + (float)q
        "double" => new ModifierBody(EquatableArray<LocalBinding>.Empty, Bin(BinaryOperator.Add,
            Conv(Bin(BinaryOperator.Divide, Fn(MathFunction.Exp, Conv(Score, ExprType.Double)), new ConstantExpr(ExprType.Double, 10)), ExprType.Float),
            Conv(Q, ExprType.Float))),
        // MathF.Pow(2f, score) / (score * score + 1)
        "powBase" => new ModifierBody(EquatableArray<LocalBinding>.Empty, Bin(BinaryOperator.Divide,
            Fn(MathFunction.Pow, F(2), Score), Bin(BinaryOperator.Add, Bin(BinaryOperator.Multiply, Score, Score), F(1)))),
        // 1f / (1f + MathF.Exp(-score))
        "sigmoid" => new ModifierBody(EquatableArray<LocalBinding>.Empty, Bin(BinaryOperator.Divide,
            F(1), Bin(BinaryOperator.Add, F(1), Fn(MathFunction.Exp, new UnaryExpr(UnaryOperator.Negate, Score, ExprType.Float))))),
        // score % 3f (the remainder of a constant divisor is differentiable)
        "remainder" => new ModifierBody(EquatableArray<LocalBinding>.Empty, Bin(BinaryOperator.Remainder, Score, F(3))),
        _ => CapturedAlibi.Body,
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void The_score_derivative_matches_finite_differences(string name)
    {
        var body = Body(name);
        var derivative = ExprDerivative.OfScore(body);
        derivative.IsDefined.ShouldBeTrue();
        int seed = Environment.TickCount;
        var random = new Random(seed);
        double worst = 0;
        for (int n = 0; n < 50; n++)
        {
            double score = (random.NextDouble() * 8) - 4;
            if (Math.Abs(score) < 1e-3 || Math.Abs(Math.Abs(score) - 1) < 1e-3)
            {
                continue; // away from this test's kinks (Abs at 0, Min/Max at ±1, ?: at 0)
            }

            var at = Evaluator(score, random);
            double analytic = at.Run(body, derivative);
            double numeric = (Evaluator(score + 1e-6, at).Run(body) - Evaluator(score - 1e-6, at).Run(body)) / 2e-6;
            worst = Math.Max(worst, Math.Abs(analytic - numeric) / Math.Max(1, Math.Abs(numeric)));
        }

        output.WriteLine($"{name}, seed {seed}: worst relative difference {worst:E2}");
        worst.ShouldBeLessThan(1e-6);
    }

    [Fact]
    public void The_derivative_with_respect_to_a_buffer_read_matches_finite_differences()
    {
        // score − slopes[h]·(q − kv): d/d slopes[h] = −(q − kv).
        var body = CapturedAlibi.Body;
        var reads = ExprDerivative.ReadsOf(body, "slopes");
        reads.Count.ShouldBe(1);
        var derivative = ExprDerivative.OfRead(body, reads[0], "d0");
        var at = Evaluator(0.7, new Random(1));
        double analytic = at.Run(body, derivative);
        var slopes = at.Buffers["slopes"];
        int h = at.H;
        double saved = slopes[h];
        slopes[h] = saved + 1e-6;
        double plus = at.Run(body);
        slopes[h] = saved - 1e-6;
        double minus = at.Run(body);
        slopes[h] = saved;
        analytic.ShouldBe((plus - minus) / 2e-6, 1e-6);
        analytic.ShouldBe(-(at.Q - at.Kv));
    }

    [Fact]
    public void Kinks_follow_the_documented_subgradients()
    {
        double At(Expr result, double score)
        {
            var body = new ModifierBody(EquatableArray<LocalBinding>.Empty, result);
            return Evaluator(score, new Random(1)).Run(body, ExprDerivative.OfScore(body));
        }

        At(Fn(MathFunction.Abs, Score), 0).ShouldBe(0);                        // Abs'(0) = 0
        At(Fn(MathFunction.Min, Score, F(0)), 0).ShouldBe(1);                  // ties follow the first argument
        At(Fn(MathFunction.Min, F(0), Score), 0).ShouldBe(0);
        At(Fn(MathFunction.Max, Bin(BinaryOperator.Multiply, Score, F(2)), F(0)), 0).ShouldBe(2);
        At(new ConditionalExpr(Bin(BinaryOperator.GreaterOrEqual, Score, F(0)), Bin(BinaryOperator.Multiply, Score, F(3)), Score, ExprType.Float), 0).ShouldBe(3);
    }

    [Fact]
    public void Derivative_locals_never_take_a_users_name()
    {
        // float t = score * 2; float t__d = 5f; return t * t__d;
        var body = new ModifierBody(
            new[] { new LocalBinding("t", Bin(BinaryOperator.Multiply, Score, F(2))), new LocalBinding("t__d", F(5)) }.ToEquatableArray(),
            Bin(BinaryOperator.Multiply, Local("t"), Local("t__d")));
        var derivative = ExprDerivative.OfScore(body);
        derivative.Locals.Select(l => l.Name).ShouldBe(new[] { "t__d_" });
        Evaluator(0.3, new Random(1)).Run(body, derivative).ShouldBe(10);
    }

    [Fact]
    public void Piecewise_constant_uses_of_the_score_are_failures()
    {
        var floor = Fn(MathFunction.Floor, Score);
        var toInt = Conv(Score, ExprType.Int);
        var slopes = new BufferReadExpr("slopes", toInt, ExprType.Float);
        var remainder = Bin(BinaryOperator.Remainder, F(3), Score);
        foreach (var (result, node) in new[]
                 {
                     (Bin(BinaryOperator.Add, floor, Score), floor),
                     (Conv(toInt, ExprType.Float), (Expr)Conv(toInt, ExprType.Float)),
                     (Bin(BinaryOperator.Multiply, slopes, Score), slopes),
                     (remainder, remainder),
                 })
        {
            var derivative = ExprDerivative.OfScore(new ModifierBody(EquatableArray<LocalBinding>.Empty, result));
            derivative.IsDefined.ShouldBeFalse();
            derivative.Failures[0].Node.ShouldBe(node);
            output.WriteLine(derivative.Failures[0].Reason);
        }

        // Piecewise-constant uses that do not reach the value are fine: a condition, or a rounding of q.
        var fine = new ConditionalExpr(Bin(BinaryOperator.Greater, floor, F(1)), Score, Conv(Fn(MathFunction.Floor, Conv(Q, ExprType.Float)), ExprType.Float), ExprType.Float);
        ExprDerivative.OfScore(new ModifierBody(EquatableArray<LocalBinding>.Empty, fine)).IsDefined.ShouldBeTrue();
    }

    private static ExprEvaluator Evaluator(double score, Random random) => new()
    {
        Score = score,
        B = random.Next(2),
        H = random.Next(4),
        Q = random.Next(50),
        Kv = random.Next(50),
        Buffers = new() { ["slopes"] = Enumerable.Range(0, 4).Select(_ => random.NextDouble()).ToArray() },
    };

    private static ExprEvaluator Evaluator(double score, ExprEvaluator like) => new()
    {
        Score = score, B = like.B, H = like.H, Q = like.Q, Kv = like.Kv, Buffers = like.Buffers,
    };
}
