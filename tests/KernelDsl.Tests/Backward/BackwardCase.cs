using System;
using System.Collections.Generic;
using KernelDsl.Reference;

namespace KernelDsl.Tests.Backward;

/// <summary>A spec's span Forward (O and LSE) as the gradient tests call it; buffers are bound by the case.</summary>
internal delegate void ForwardCall<T>(T[] q, T[] k, T[] v, T[] output, float[] lse, AttentionShape shape);

/// <summary>A spec's span Backward; learnable buffers' gradients are bound by the case.</summary>
internal delegate void BackwardCall<T>(T[] q, T[] k, T[] v, T[] output, float[] lse, T[] dOutput, T[] dq, T[] dk, T[] dv, AttentionShape shape);

/// <summary>Relative errors of one backward run against the float64 reference backward (NaN when an element was not written).</summary>
internal sealed record GradientErrors(double DQ, double DK, double DV, IReadOnlyDictionary<string, double> Buffers)
{
    public double Worst
    {
        get
        {
            double worst = Math.Max(DQ, Math.Max(DK, DV));
            foreach (var error in Buffers.Values)
            {
                worst = double.IsNaN(error) ? double.NaN : Math.Max(worst, error);
            }

            return double.IsNaN(DQ) || double.IsNaN(DK) || double.IsNaN(DV) ? double.NaN : worst;
        }
    }

    public override string ToString() =>
        $"dQ {DQ:E2}, dK {DK:E2}, dV {DV:E2}" + string.Concat(System.Linq.Enumerable.Select(Buffers, b => $", d{b.Key} {b.Value:E2}"));
}

/// <summary>
/// One [Backward] spec under test: runs Forward then Backward on fresh random inputs (gradients poisoned with NaN first)
/// and compares dQ, dK, dV and the learnable buffers' gradients with <see cref="AttentionReferenceBackward"/>.
/// </summary>
internal sealed class BackwardCase<T>
    where T : unmanaged
{
    public required string Name { get; init; }

    public required TensorLayout Layout { get; init; }

    public required Func<AttentionShape, MaskBand> Band { get; init; }

    public required ForwardCall<T> Forward { get; init; }

    public required BackwardCall<T> Backward { get; init; }

    public double? Scale { get; init; }

    public Func<double, int, int, int, int, double>? ScoreMod { get; init; }

    /// <summary>The generated ScoreModifierBackwardReference, with the buffers and the reference's gradient arrays bound.</summary>
    public ScoreModifierBackward? ScoreModBackward { get; init; }

    public Func<int, int, int, int, bool>? MaskMod { get; init; }

    /// <summary>Learnable buffers: the kernel's gradient (filled by Backward) and the reference's (filled by the reference), by name.</summary>
    public IReadOnlyDictionary<string, (float[] Kernel, double[] Reference)> BufferGradients { get; init; } = new Dictionary<string, (float[], double[])>();

    public override string ToString() => Name;

    public GradientErrors Run(AttentionShape shape, int seed, float magnitude = 1f)
    {
        var random = new Random(seed);
        int qCount = shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim;
        int kCount = shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim;
        int vCount = shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim;
        int oCount = shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim;
        var q = RandomTensors.Uniform<T>(random, qCount, magnitude);
        var k = RandomTensors.Uniform<T>(random, kCount, magnitude);
        var v = RandomTensors.Uniform<T>(random, vCount, magnitude);
        var dO = RandomTensors.Uniform<T>(random, oCount, 1f);
        var output = new T[oCount];
        var lse = new float[shape.Batch * shape.HeadsQ * shape.SeqQ];
        Forward(q, k, v, output, lse, shape);

        T nan = RandomTensors.FromFloat<T>(float.NaN);
        T[] Poisoned(int count)
        {
            var array = new T[count];
            Array.Fill(array, nan);
            return array;
        }

        var dq = Poisoned(qCount);
        var dk = Poisoned(kCount);
        var dv = Poisoned(vCount);
        foreach (var (kernel, reference) in BufferGradients.Values)
        {
            Array.Fill(kernel, float.NaN);
            Array.Clear(reference);
        }

        Backward(q, k, v, output, lse, dO, dq, dk, dv, shape);
        var expected = AttentionReferenceBackward.Compute<T, T>(
            q, k, v, dO, shape, Layout, Scale ?? (1 / Math.Sqrt(shape.HeadDim)), Band(shape), ScoreMod, ScoreModBackward, MaskMod);
        var buffers = new Dictionary<string, double>();
        foreach (var (name, (kernel, reference)) in BufferGradients)
        {
            buffers[name] = ErrorMetrics.RelativeError<float>(kernel, reference);
        }

        return new GradientErrors(
            ErrorMetrics.RelativeError<T>(dq, expected.DQ),
            ErrorMetrics.RelativeError<T>(dk, expected.DK),
            ErrorMetrics.RelativeError<T>(dv, expected.DV),
            buffers);
    }
}
