using System;
using KernelDsl.Reference;

namespace KernelDsl.Tests.Numerics;

/// <summary>The span-based Forward every spec gets (the lse span is ignored by specs that do not write it).</summary>
internal delegate void ForwardSpans<TIn, TOut>(ReadOnlySpan<TIn> q, ReadOnlySpan<TIn> k, ReadOnlySpan<TIn> v, Span<TOut> output, Span<float> lse, AttentionShape shape);

/// <summary>What one run measured against the float64 reference.</summary>
/// <param name="OutputError">‖out − ref‖ / ‖ref‖ (NaN if any output element is NaN).</param>
/// <param name="LseError">Max |lse − ref| (0 when the spec writes no LSE; +∞ on a −∞ disagreement or NaN).</param>
/// <param name="EmptyRows">Query rows that kept no key.</param>
/// <param name="EmptyRowsExact">Every such row is exactly 0 (and its LSE exactly −∞).</param>
internal sealed record CaseResult(double OutputError, double LseError, int EmptyRows, bool EmptyRowsExact);

/// <summary>One compiled spec of the matrix, type-erased so a theory can iterate them.</summary>
internal abstract class MatrixCase(string name, DType precision, TensorLayout layout, MaskKind mask, MaskAlignment alignment, int bandLeft, int bandRight, int headDim, int valueHeadDim, bool writesLse)
{
    public string Name { get; } = name;

    public DType Precision { get; } = precision;

    public TensorLayout Layout { get; } = layout;

    public MaskKind Mask { get; } = mask;

    public MaskAlignment Alignment { get; } = alignment;

    public int HeadDim { get; } = headDim;

    public int ValueHeadDim { get; } = valueHeadDim;

    public bool WritesLse { get; } = writesLse;

    /// <summary>Element type of O.</summary>
    public abstract DType OutputType { get; }

    /// <summary>The spec's softmax scale when it sets one; 1/sqrt(HeadDim) otherwise.</summary>
    public double? Scale { get; init; }

    /// <summary>The spec's score modifier in double precision (its generated ScoreModifierReference), if any.</summary>
    public Func<double, int, int, int, int, double>? ScoreMod { get; init; }

    /// <summary>The spec's mask modifier (its generated MaskModifierReference), if any.</summary>
    public Func<int, int, int, int, bool>? MaskMod { get; init; }

    public MaskBand BandFor(AttentionShape shape) => MaskBand.For(Mask, Alignment, bandLeft, bandRight, shape.SeqQ, shape.SeqKv);

    /// <summary>Runs the kernel once on fresh inputs, uniform in [−magnitude, magnitude), from <paramref name="seed"/>.</summary>
    public abstract CaseResult Run(AttentionShape shape, int seed, float magnitude);

    public override string ToString() => Name;
}

internal sealed class MatrixCase<TIn, TOut>(string name, DType precision, TensorLayout layout, MaskKind mask, MaskAlignment alignment, int bandLeft, int bandRight, int headDim, int valueHeadDim, bool writesLse, ForwardSpans<TIn, TOut> forward)
    : MatrixCase(name, precision, layout, mask, alignment, bandLeft, bandRight, headDim, valueHeadDim, writesLse)
    where TIn : unmanaged
    where TOut : unmanaged
{
    public override DType OutputType =>
        typeof(TOut) == typeof(float) ? DType.FP32 : typeof(TOut) == typeof(Half) ? DType.FP16 : DType.BF16;

    public override CaseResult Run(AttentionShape shape, int seed, float magnitude)
    {
        var random = new Random(seed);
        var q = RandomTensors.Uniform<TIn>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, magnitude);
        var k = RandomTensors.Uniform<TIn>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, magnitude);
        var v = RandomTensors.Uniform<TIn>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim, magnitude);

        // Poison: any element the kernel does not write stays NaN and fails the error check.
        var output = new TOut[shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim];
        Array.Fill(output, RandomTensors.FromFloat<TOut>(float.NaN));
        var lse = new float[shape.Batch * shape.HeadsQ * shape.SeqQ];
        Array.Fill(lse, float.NaN);

        forward(q, k, v, output, lse, shape);

        var reference = AttentionReference.Compute<TIn>(q, k, v, shape, Layout, Scale ?? (1 / Math.Sqrt(shape.HeadDim)), BandFor(shape), ScoreMod, MaskMod);
        double outputError = ErrorMetrics.RelativeError<TOut>(output, reference.Output);
        double lseError = WritesLse ? ErrorMetrics.MaxLseError(lse, reference.Lse) : 0;
        var (emptyRows, exact) = EmptyRows.Check<TOut>(shape, Layout, output, lse, WritesLse, reference);
        return new CaseResult(outputError, lseError, emptyRows, exact);
    }
}
