using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// Writes a score modifier's backward as one C# method, from <see cref="ExprDerivative"/>: given the raw score and
/// the upstream gradient g = ∂L/∂ScoreMod, it adds g·∂ScoreMod/∂buffer[i] into each learnable buffer's gradient
/// (double accumulators) and returns g·∂ScoreMod/∂score. The CPU kernel's copy runs in float (the user's C#
/// semantics) and the reference's in double, from the same IR — as the forward's modifiers are.
/// </summary>
public static class ModifierBackwardWriter
{
    /// <summary>The gradient parameter that goes with a learnable buffer.</summary>
    public static string GradientName(CapturedBuffer buffer) => buffer.Name + "Gradient";

    /// <summary>The derivatives a score modifier's backward needs: d/d score, then d/d each read of a learnable buffer.</summary>
    public static (DerivativeResult Score, IReadOnlyList<(BufferReadExpr Read, DerivativeResult Derivative)> Reads) Derivatives(ModifierSpec modifier)
    {
        var score = ExprDerivative.OfScore(modifier.Body);
        var reads = new List<(BufferReadExpr, DerivativeResult)>();
        foreach (var buffer in modifier.Buffers.Where(b => b.Learnable))
        {
            foreach (var read in ExprDerivative.ReadsOf(modifier.Body, buffer.Name))
            {
                reads.Add((read, ExprDerivative.OfRead(modifier.Body, read, "d" + reads.Count)));
            }
        }

        return (score, reads);
    }

    /// <summary>Every failure of the score modifier's derivatives (empty when the backward is defined).</summary>
    public static IEnumerable<DerivativeFailure> Failures(ModifierSpec modifier)
    {
        var (score, reads) = Derivatives(modifier);
        return score.Failures.Concat(reads.SelectMany(r => r.Derivative.Failures)).Distinct();
    }

    /// <summary>", float* slopesGradient" (kernel: double*) or ", Span&lt;double&gt; slopesGradient" (reference), per learnable buffer.</summary>
    public static string GradientParameters(ModifierSpec modifier, bool reference)
    {
        string list = string.Empty;
        foreach (var buffer in modifier.Buffers.Where(b => b.Learnable))
        {
            list += (reference ? ", global::System.Span<double> " : ", double* ") + GradientName(buffer);
        }

        return list;
    }

    /// <summary>The method: <paramref name="signature"/> is "access returnType Name"; the parameters follow the modifier's.</summary>
    /// <param name="buffers">False for the variant that returns ∂L/∂s only (no buffer gradients, no gradient parameters).</param>
    public static void Method(CodeWriter w, ModifierSpec modifier, ExprCSharpWriter writer, string signature, bool reference, bool buffers = true)
    {
        var (score, reads) = Derivatives(modifier);
        if (!buffers)
        {
            reads = System.Array.Empty<(BufferReadExpr, DerivativeResult)>();
        }

        string type = writer.Type(ExprType.Float);
        using (w.Block(signature + "(" + writer.Parameters(modifier) + ", " + type + " gradient" + (buffers ? GradientParameters(modifier, reference) : string.Empty) + ")"))
        {
            var outputs = new List<Expr> { score.Result };
            foreach (var (read, derivative) in reads)
            {
                outputs.Add(derivative.Result);
                outputs.Add(read.Index);
            }

            var all = new List<DerivativeResult> { score };
            all.AddRange(reads.Select(r => r.Derivative));
            var used = Used(modifier.Body, all, outputs);
            foreach (var local in modifier.Body.Locals)
            {
                Declare(w, writer, local, used);
                foreach (var derivative in all)
                {
                    if (derivative.LocalFor(local.Name) is { } dLocal)
                    {
                        Declare(w, writer, dLocal, used);
                    }
                }
            }

            foreach (var (read, derivative) in reads)
            {
                var buffer = modifier.Buffers.First(b => b.Name == read.Buffer);
                // The kernel's accumulator is a raw pointer: the write is bounds-checked by the buffer it belongs to.
                string target = reference
                    ? GradientName(buffer) + "[" + writer.Write(read.Index) + "]"
                    : buffer.Name + ".Gradient(" + GradientName(buffer) + ", " + writer.Write(read.Index) + ")";
                w.Line(target + " += (double)(gradient * " + writer.Write(derivative.Result) + ");");
            }

            w.Line("return gradient * " + writer.Write(score.Result) + ";");
        }
    }

    private static void Declare(CodeWriter w, ExprCSharpWriter writer, LocalBinding local, HashSet<string> used)
    {
        if (used.Contains(local.Name))
        {
            w.Line(writer.Type(local.Value.Type) + " " + ExprCSharpWriter.LocalName(local.Name) + " = " + writer.Write(local.Value) + ";");
        }
    }

    /// <summary>Locals the outputs read, directly or through other locals (walked back from the last declaration).</summary>
    private static HashSet<string> Used(ModifierBody body, List<DerivativeResult> derivatives, List<Expr> outputs)
    {
        var values = new Dictionary<string, Expr>();
        foreach (var local in body.Locals)
        {
            values[local.Name] = local.Value;
        }

        foreach (var derivative in derivatives)
        {
            foreach (var local in derivative.Locals)
            {
                values[local.Name] = local.Value;
            }
        }

        var used = new HashSet<string>();
        var pending = new Stack<Expr>(outputs);
        while (pending.Count > 0)
        {
            var e = pending.Pop();
            if (e is LocalExpr local && used.Add(local.Name) && values.TryGetValue(local.Name, out var value))
            {
                pending.Push(value);
            }

            foreach (var child in ExprQueries.Children(e))
            {
                pending.Push(child);
            }
        }

        return used;
    }
}
