using System;

namespace KernelDsl;

/// <summary>
/// Checks the tensors of a generated <c>Backward</c> call: q, k, v, output and lse exactly as Forward checks them
/// (<see cref="AttentionBinding.Bind"/>), then dOutput shaped like output, dq/dk/dv shaped like q/k/v, and each
/// gradient neither overlapping itself nor any other tensor of the call. Throws <see cref="ArgumentException"/>
/// naming the argument.
/// </summary>
public static class BackwardBinding
{
    public static AttentionShape Bind(
        TensorLayout layout,
        int headDim,
        int valueHeadDim,
        TensorArgument q,
        TensorArgument k,
        TensorArgument v,
        TensorArgument output,
        TensorArgument lse,
        TensorArgument dOutput,
        TensorArgument dq,
        TensorArgument dk,
        TensorArgument dv)
    {
        var shape = AttentionBinding.Bind(layout, headDim, valueHeadDim, q, k, v, output, lse);
        AttentionBinding.CheckRankAndStrides(dOutput, 4);
        AttentionBinding.RequireShape(dOutput, layout, shape.Batch, shape.SeqQ, shape.HeadsQ, valueHeadDim, "the spec's ValueHeadDim, as output");
        AttentionBinding.CheckRankAndStrides(dq, 4);
        AttentionBinding.RequireShape(dq, layout, shape.Batch, shape.SeqQ, shape.HeadsQ, headDim, "the spec's HeadDim, as q");
        AttentionBinding.CheckRankAndStrides(dk, 4);
        AttentionBinding.RequireShape(dk, layout, shape.Batch, shape.SeqKv, shape.HeadsKv, headDim, "the spec's HeadDim, as k");
        AttentionBinding.CheckRankAndStrides(dv, 4);
        AttentionBinding.RequireShape(dv, layout, shape.Batch, shape.SeqKv, shape.HeadsKv, valueHeadDim, "the spec's ValueHeadDim, as v");

        AttentionBinding.CheckNotSelfOverlapping(dq);
        AttentionBinding.CheckNotSelfOverlapping(dk);
        AttentionBinding.CheckNotSelfOverlapping(dv);
        foreach (var gradient in new[] { 0, 1, 2 })
        {
            var written = gradient == 0 ? dq : gradient == 1 ? dk : dv;
            AttentionBinding.CheckDisjoint(written, q);
            AttentionBinding.CheckDisjoint(written, k);
            AttentionBinding.CheckDisjoint(written, v);
            AttentionBinding.CheckDisjoint(written, output);
            AttentionBinding.CheckDisjoint(written, lse);
            AttentionBinding.CheckDisjoint(written, dOutput);
        }

        AttentionBinding.CheckDisjoint(dq, dk);
        AttentionBinding.CheckDisjoint(dq, dv);
        AttentionBinding.CheckDisjoint(dk, dv);
        return shape;
    }

    /// <summary>A learnable buffer's gradient must have the buffer's length and not overlap it.</summary>
    public static void RequireGradient(string name, int length, int bufferLength)
    {
        if (length != bufferLength)
        {
            throw new ArgumentException($"'{name}' has {length} elements, but its buffer has {bufferLength}.", name);
        }
    }
}

/// <summary>
/// Everything the generated CPU backward needs for one call: the forward's tensors (Q, K, V, O, LSE), dO, and the
/// gradients it writes (dQ, dK, dV), all pinned and checked by <see cref="BackwardBinding"/>.
/// </summary>
public readonly unsafe struct BackwardProblem<TIn, TOut>
    where TIn : unmanaged
    where TOut : unmanaged
{
    public BackwardProblem(AttentionProblem<TIn, TOut> forward, StridedTensor<TOut> dOutput, StridedTensor<TIn> dq, StridedTensor<TIn> dk, StridedTensor<TIn> dv)
    {
        Forward = forward;
        DOutput = dOutput;
        DQ = dq;
        DK = dk;
        DV = dv;
    }

    /// <summary>Q, K, V, O and LSE (never null here) of the forward call being differentiated.</summary>
    public AttentionProblem<TIn, TOut> Forward { get; }

    public AttentionShape Shape => Forward.Shape;

    public StridedTensor<TOut> DOutput { get; }

    public StridedTensor<TIn> DQ { get; }

    public StridedTensor<TIn> DK { get; }

    public StridedTensor<TIn> DV { get; }
}
