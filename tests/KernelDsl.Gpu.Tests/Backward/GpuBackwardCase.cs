using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Reference;

namespace KernelDsl.Gpu.Tests.Backward;

/// <summary>A spec's device Forward (O and LSE) with its captured buffers bound.</summary>
internal delegate void DeviceForwardCall<T>(DeviceTensor<T> q, DeviceTensor<T> k, DeviceTensor<T> v, DeviceTensor<T> output, DeviceBuffer<float> lse)
    where T : unmanaged;

/// <summary>A spec's device Backward with its captured buffers bound; <paramref name="deterministic"/> is the call's mode argument (null: the spec's default).</summary>
internal delegate void DeviceBackwardCall<T>(DeviceTensor<T> q, DeviceTensor<T> k, DeviceTensor<T> v, DeviceTensor<T> output, DeviceBuffer<float> lse,
    DeviceTensor<T> dOutput, DeviceTensor<T> dq, DeviceTensor<T> dk, DeviceTensor<T> dv, bool? deterministic)
    where T : unmanaged;

/// <summary>Relative errors of dQ, dK, dV against the float64 reference (NaN when an element was not written), and the rows that keep no key.</summary>
internal sealed record GpuGradientErrors(double DQ, double DK, double DV, int EmptyRows, bool EmptyRowsZero)
{
    public double Worst => double.IsNaN(DQ) || double.IsNaN(DK) || double.IsNaN(DV) ? double.NaN : Math.Max(DQ, Math.Max(DK, DV));

    public override string ToString() => $"dQ {DQ:E2}, dK {DK:E2}, dV {DV:E2}" + (EmptyRows > 0 ? $", {EmptyRows} rows with no key" : string.Empty);
}

/// <summary>
/// One [Backward] spec on the GPU: device Forward, then device Backward into gradients poisoned with NaN, on fresh
/// random inputs; compared with <see cref="AttentionReferenceBackward"/> on the same inputs. The case's captured buffers
/// live on the device for its lifetime.
/// </summary>
internal sealed class GpuBackwardCase<T> : IDisposable
    where T : unmanaged
{
    public required string Name { get; init; }

    public required TensorLayout Layout { get; init; }

    public required MaskBand Band { get; init; }

    public required DeviceForwardCall<T> Forward { get; init; }

    public required DeviceBackwardCall<T> Backward { get; init; }

    public Func<double, int, int, int, int, double>? ScoreMod { get; init; }

    public ScoreModifierBackward? ScoreModBackward { get; init; }

    public Func<int, int, int, int, bool>? MaskMod { get; init; }

    /// <summary>Device buffers the delegates read (captured buffers), disposed with the case.</summary>
    public IReadOnlyList<IDisposable> Owned { get; init; } = Array.Empty<IDisposable>();

    public void Dispose()
    {
        foreach (var owned in Owned)
        {
            owned.Dispose();
        }
    }

    public GpuGradientErrors Run(AttentionShape shape, int seed, bool? deterministic, float magnitude = 1f)
    {
        using var t = new DeviceProblem<T>(Layout, shape, seed, magnitude);
        Forward(t.Q, t.K, t.V, t.O, t.Lse);
        t.PoisonGradients();
        Backward(t.Q, t.K, t.V, t.O, t.Lse, t.DOut, t.DQ, t.DK, t.DV, deterministic);
        var dq = t.DQ.ToArray();
        var dk = t.DK.ToArray();
        var dv = t.DV.ToArray();
        var expected = AttentionReferenceBackward.Compute<T, T>(
            t.HostQ, t.HostK, t.HostV, t.HostDOut, shape, Layout, 1 / Math.Sqrt(shape.HeadDim), Band, ScoreMod, ScoreModBackward, MaskMod);
        var (emptyRows, zero) = EmptyRowsHaveZeroGradient(shape, dq, t.Lse.ToArray());
        return new GpuGradientErrors(
            ErrorMetrics.RelativeError<T>(dq, expected.DQ),
            ErrorMetrics.RelativeError<T>(dk, expected.DK),
            ErrorMetrics.RelativeError<T>(dv, expected.DV),
            emptyRows,
            zero);
    }

    /// <summary>dQ, dK and dV of <paramref name="runs"/> Backward calls on the same inputs, as raw bytes per run (gradients re-poisoned before each).</summary>
    public List<byte[]> Bits(AttentionShape shape, int seed, int runs, bool? deterministic)
    {
        using var t = new DeviceProblem<T>(Layout, shape, seed, 1f);
        Forward(t.Q, t.K, t.V, t.O, t.Lse);
        var bits = new List<byte[]>();
        for (int run = 0; run < runs; run++)
        {
            t.PoisonGradients();
            Backward(t.Q, t.K, t.V, t.O, t.Lse, t.DOut, t.DQ, t.DK, t.DV, deterministic);
            bits.Add(Bytes(t.DQ.ToArray()).Concat(Bytes(t.DK.ToArray())).Concat(Bytes(t.DV.ToArray())).ToArray());
        }

        return bits;
    }

    private static byte[] Bytes(T[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static double ToDouble(T value) => value switch
    {
        Half h => (double)h,
        BFloat16 b => (float)b,
        float f => f,
        _ => throw new NotSupportedException(typeof(T).Name),
    };

    /// <summary>Rows the forward kept no key for (LSE = −∞): every element of their dQ row must be exactly 0.</summary>
    private (int Rows, bool Zero) EmptyRowsHaveZeroGradient(AttentionShape shape, T[] dq, float[] lse)
    {
        var index = new ContiguousIndex(Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        int rows = 0;
        bool zero = true;
        for (int b = 0; b < shape.Batch; b++)
        {
            for (int h = 0; h < shape.HeadsQ; h++)
            {
                for (int i = 0; i < shape.SeqQ; i++)
                {
                    if (!float.IsNegativeInfinity(lse[(((b * shape.HeadsQ) + h) * shape.SeqQ) + i]))
                    {
                        continue;
                    }

                    rows++;
                    for (int d = 0; d < shape.HeadDim; d++)
                    {
                        zero &= ToDouble(dq[index.At(b, i, h, d)]) == 0;
                    }
                }
            }
        }

        return (rows, zero);
    }
}

/// <summary>Fresh random Q, K, V, dO on the host and the device, and the device outputs (O and LSE poisoned with NaN).</summary>
internal sealed class DeviceProblem<T> : IDisposable
    where T : unmanaged
{
    public DeviceProblem(TensorLayout layout, AttentionShape shape, int seed, float magnitude)
    {
        var random = new Random(seed);
        HostQ = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, magnitude);
        HostK = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, magnitude);
        HostV = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim, magnitude);
        HostDOut = RandomTensors.Uniform<T>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim, 1f);
        Q = Upload(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim, HostQ);
        K = Upload(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim, HostK);
        V = Upload(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim, HostV);
        DOut = Upload(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim, HostDOut);
        O = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        O.Fill(RandomTensors.FromFloat<T>(float.NaN));
        Lse = new DeviceBuffer<float>((long)shape.Batch * shape.HeadsQ * shape.SeqQ);
        Lse.Fill(float.NaN);
        DQ = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        DK = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        DV = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
    }

    public T[] HostQ { get; }

    public T[] HostK { get; }

    public T[] HostV { get; }

    public T[] HostDOut { get; }

    public DeviceTensor<T> Q { get; }

    public DeviceTensor<T> K { get; }

    public DeviceTensor<T> V { get; }

    public DeviceTensor<T> DOut { get; }

    public DeviceTensor<T> O { get; }

    public DeviceBuffer<float> Lse { get; }

    public DeviceTensor<T> DQ { get; }

    public DeviceTensor<T> DK { get; }

    public DeviceTensor<T> DV { get; }

    /// <summary>Any gradient element the backward does not write stays NaN and fails the comparison.</summary>
    public void PoisonGradients()
    {
        T nan = RandomTensors.FromFloat<T>(float.NaN);
        DQ.Fill(nan);
        DK.Fill(nan);
        DV.Fill(nan);
    }

    public void Dispose()
    {
        foreach (var tensor in new[] { Q, K, V, DOut, O, DQ, DK, DV })
        {
            tensor.Dispose();
        }

        Lse.Dispose();
    }

    private static DeviceTensor<T> Upload(TensorLayout layout, int batch, int seq, int heads, int dim, T[] data)
    {
        var tensor = DeviceTensor<T>.Create(layout, batch, seq, heads, dim);
        tensor.Upload(data);
        return tensor;
    }
}
