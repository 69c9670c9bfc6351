using System;

namespace KernelDsl;

/// <summary>
/// Completes calls with nothing to compute on the host, so no kernel runs over empty loops (DESIGN.md: a sequence with
/// no keys behaves like a fully masked row). Skv = 0: every row has no kept key, so O = 0 and LSE = −∞, and the
/// backward's dQ = 0. B = 0 or Sq = 0: there is no row, so the forward writes nothing and the backward's dK = dV = 0
/// (no row contributes to them). The generated entry points call these after every argument check.
/// </summary>
public static unsafe class EmptyAttention
{
    /// <summary>For an empty shape (<see cref="AttentionShape.IsEmpty"/>) writes the forward's outputs and returns true; otherwise does nothing and returns false.</summary>
    public static bool CompleteForward<TIn, TOut>(in AttentionProblem<TIn, TOut> problem)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        var shape = problem.Shape;
        if (!shape.IsEmpty)
        {
            return false;
        }

        // With B = 0 or Sq = 0 these write nothing; with Skv = 0 every row is a row with no kept key.
        Zero(problem.Output, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        if (problem.Lse is not null)
        {
            new Span<float>(problem.Lse, checked(shape.Batch * shape.HeadsQ * shape.SeqQ)).Fill(float.NegativeInfinity);
        }

        return true;
    }

    /// <summary>For an empty shape writes zero gradients (dQ, dK, dV; whichever hold elements) and returns true; otherwise returns false.</summary>
    public static bool CompleteBackward<TIn, TOut>(in BackwardProblem<TIn, TOut> problem)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        var shape = problem.Shape;
        if (!shape.IsEmpty)
        {
            return false;
        }

        Zero(problem.DQ, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        Zero(problem.DK, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        Zero(problem.DV, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
        return true;
    }

    /// <summary>Sets every element of a strided [batch, seq, heads, dim] view to zero bits (0 in every element type); only its own rows, never the gaps between them.</summary>
    private static void Zero<T>(StridedTensor<T> tensor, int batch, int seq, int heads, int dim)
        where T : unmanaged
    {
        for (int b = 0; b < batch; b++)
        {
            for (int s = 0; s < seq; s++)
            {
                for (int h = 0; h < heads; h++)
                {
                    new Span<T>(tensor.Row(b, s, h), dim).Clear();
                }
            }
        }
    }
}
