using System;
using KernelDsl.Reference;

namespace KernelDsl.Gpu.Tests;

/// <summary>The device-tensor Forward of one spec (lse is null for specs that do not write it).</summary>
internal delegate void DeviceForward<TIn, TOut>(DeviceTensor<TIn> q, DeviceTensor<TIn> k, DeviceTensor<TIn> v, DeviceTensor<TOut> output, DeviceBuffer<float>? lse)
    where TIn : unmanaged
    where TOut : unmanaged;

/// <summary>What one GPU run measured against the float64 reference.</summary>
internal sealed record GpuResult(double OutputError, double LseError, int EmptyRows, bool EmptyRowsExact);

/// <summary>One compiled spec, type-erased so a theory can iterate them.</summary>
internal abstract class GpuCase(string name, TensorLayout layout, MaskKind mask, MaskAlignment alignment, int left, int right, int headDim, bool writesLse)
{
    public string Name { get; } = name;

    public TensorLayout Layout { get; } = layout;

    public int HeadDim { get; } = headDim;

    public bool WritesLse { get; } = writesLse;

    public abstract bool InputIsBf16 { get; }

    /// <summary>The spec's score modifier in double precision (its generated ScoreModifierReference), if any.</summary>
    public Func<double, int, int, int, int, double>? ScoreMod { get; init; }

    /// <summary>The spec's mask modifier (its generated MaskModifierReference), if any.</summary>
    public Func<int, int, int, int, bool>? MaskMod { get; init; }

    public MaskBand BandFor(AttentionShape shape) => MaskBand.For(mask, alignment, left, right, shape.SeqQ, shape.SeqKv);

    public abstract GpuResult Run(AttentionShape shape, int seed, float magnitude);

    public override string ToString() => Name;
}

internal sealed class GpuCase<TIn, TOut>(string name, TensorLayout layout, MaskKind mask, MaskAlignment alignment, int left, int right, int headDim, bool writesLse, DeviceForward<TIn, TOut> forward)
    : GpuCase(name, layout, mask, alignment, left, right, headDim, writesLse)
    where TIn : unmanaged
    where TOut : unmanaged
{
    public override bool InputIsBf16 => typeof(TIn) == typeof(BFloat16);

    public override GpuResult Run(AttentionShape shape, int seed, float magnitude)
    {
        var random = new Random(seed);
        var q = RandomTensors.Uniform<TIn>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, magnitude);
        var k = RandomTensors.Uniform<TIn>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, magnitude);
        var v = RandomTensors.Uniform<TIn>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim, magnitude);

        using var dq = DeviceTensor<TIn>.Create(Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        using var dk = DeviceTensor<TIn>.Create(Layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        using var dv = DeviceTensor<TIn>.Create(Layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
        using var dout = DeviceTensor<TOut>.Create(Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        using var dlse = WritesLse ? new DeviceBuffer<float>((long)shape.Batch * shape.HeadsQ * shape.SeqQ) : null;
        dq.Upload(q);
        dk.Upload(k);
        dv.Upload(v);

        // Poison: any element the kernel does not write stays NaN and fails the error check.
        dout.Fill(RandomTensors.FromFloat<TOut>(float.NaN));
        dlse?.Fill(float.NaN);

        forward(dq, dk, dv, dout, dlse);
        var output = dout.ToArray();
        var lse = dlse?.ToArray() ?? Array.Empty<float>();

        var reference = AttentionReference.Compute<TIn>(q, k, v, shape, Layout, 1 / Math.Sqrt(shape.HeadDim), BandFor(shape), ScoreMod, MaskMod);
        double outputError = ErrorMetrics.RelativeError<TOut>(output, reference.Output);
        double lseError = WritesLse ? ErrorMetrics.MaxLseError(lse, reference.Lse) : 0;
        var (emptyRows, exact) = EmptyRows.Check<TOut>(shape, Layout, output, lse, WritesLse, reference);
        return new GpuResult(outputError, lseError, emptyRows, exact);
    }
}
