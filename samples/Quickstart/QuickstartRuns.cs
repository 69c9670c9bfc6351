using System;
using System.Collections.Generic;
using System.Diagnostics;
using KernelDsl;
using KernelDsl.Reference;

namespace Quickstart;

/// <summary>One spec on one target with its call shape; <see cref="Run"/> measures it against the reference.</summary>
internal abstract record SpecRun(string Name, string Target, AttentionPlan Plan, AttentionShape Shape, TensorLayout Layout)
{
    public double Scale => 1 / Math.Sqrt(Shape.HeadDim);

    public abstract RunResult Run(Random random);

    protected static T[] Random<T>(Random random, int count)
        where T : unmanaged => RandomTensors.Uniform<T>(random, count);
}

/// <summary>The quickstart's runs: every spec on the CPU; the 16-bit ones on the GPU too when there is one.</summary>
internal static class QuickstartRuns
{
    public static IReadOnlyList<SpecRun> All(bool gpu)
    {
        var runs = new List<SpecRun>
        {
            new CpuRun<BFloat16, BFloat16>("PlainBf16Attention", PlainBf16Attention.Plan, new AttentionShape(1, 512, 512, 8, 8, 128, 128), TensorLayout.BSHD,
                (q, k, v, o, lse, shape) => PlainBf16Attention.Forward(q, k, v, o, shape)),
            new CpuRun<Half, Half>("CausalFp16Attention", CausalFp16Attention.Plan, new AttentionShape(2, 300, 700, 8, 8, 64, 64), TensorLayout.BSHD,
                (q, k, v, o, lse, shape) => CausalFp16Attention.Forward(q, k, v, o, lse, shape)),
            new CpuRun<float, float>("SlidingWindowGqaAttention", SlidingWindowGqaAttention.Plan, new AttentionShape(1, 1000, 1000, 8, 2, 64, 64), TensorLayout.BHSD,
                (q, k, v, o, lse, shape) => SlidingWindowGqaAttention.Forward(q, k, v, o, shape)),

            // The causal mask and the prefix-LM modifier both apply; the reference evaluates the same modifiers in double.
            new CpuRun<float, float>("SoftcapPrefixLmAttention", SoftcapPrefixLmAttention.Plan, new AttentionShape(1, 700, 700, 4, 4, 64, 64), TensorLayout.BSHD,
                (q, k, v, o, lse, shape) => SoftcapPrefixLmAttention.Forward(q, k, v, o, shape))
            {
                ScoreMod = SoftcapPrefixLmAttention.ScoreModifierReference,
                MaskMod = SoftcapPrefixLmAttention.MaskModifierReference,
            },
        };

        if (gpu)
        {
            runs.Add(new GpuRun<BFloat16>("PlainBf16Attention", PlainBf16Attention.Plan, new AttentionShape(4, 1024, 1024, 16, 16, 128, 128), TensorLayout.BSHD,
                (q, k, v, o, lse) => PlainBf16Attention.Forward(q, k, v, o)));
            runs.Add(new GpuRun<Half>("CausalFp16Attention", CausalFp16Attention.Plan, new AttentionShape(2, 300, 700, 8, 8, 64, 64), TensorLayout.BSHD,
                (q, k, v, o, lse) => CausalFp16Attention.Forward(q, k, v, o, lse!)));
        }

        return runs;
    }
}

internal delegate void CpuForward<TIn, TOut>(ReadOnlySpan<TIn> q, ReadOnlySpan<TIn> k, ReadOnlySpan<TIn> v, Span<TOut> output, Span<float> lse, AttentionShape shape);

internal delegate void DeviceForward<T>(DeviceTensor<T> q, DeviceTensor<T> k, DeviceTensor<T> v, DeviceTensor<T> output, DeviceBuffer<float>? lse)
    where T : unmanaged;

/// <summary>The fused CPU kernel: a warm-up call, then the median of three timed calls, each on a NaN-poisoned output.</summary>
internal sealed record CpuRun<TIn, TOut>(string Name, AttentionPlan Plan, AttentionShape Shape, TensorLayout Layout, CpuForward<TIn, TOut> Forward)
    : SpecRun(Name, "CPU", Plan, Shape, Layout)
    where TIn : unmanaged
    where TOut : unmanaged
{
    public Func<double, int, int, int, int, double>? ScoreMod { get; init; }

    public Func<int, int, int, int, bool>? MaskMod { get; init; }

    public override RunResult Run(Random random)
    {
        var q = Random<TIn>(random, Shape.Batch * Shape.SeqQ * Shape.HeadsQ * Shape.HeadDim);
        var k = Random<TIn>(random, Shape.Batch * Shape.SeqKv * Shape.HeadsKv * Shape.HeadDim);
        var v = Random<TIn>(random, Shape.Batch * Shape.SeqKv * Shape.HeadsKv * Shape.ValueHeadDim);
        var output = new TOut[Shape.Batch * Shape.SeqQ * Shape.HeadsQ * Shape.ValueHeadDim];
        var lse = new float[Shape.Batch * Shape.HeadsQ * Shape.SeqQ];

        Forward(q, k, v, output, lse, Shape); // warm-up (JIT)
        var times = new double[3];
        for (int run = 0; run < times.Length; run++)
        {
            Array.Fill(output, RandomTensors.FromFloat<TOut>(float.NaN));
            Array.Fill(lse, float.NaN);
            var timer = Stopwatch.StartNew();
            Forward(q, k, v, output, lse, Shape);
            times[run] = timer.Elapsed.TotalSeconds;
        }

        Array.Sort(times);
        double seconds = times[1];

        var reference = AttentionReference.Compute<TIn>(q, k, v, Shape, Layout, Scale, Plan.Parameters.BandFor(Shape), ScoreMod, MaskMod);
        double error = ErrorMetrics.RelativeError<TOut>(output, reference.Output);
        double? lseError = Plan.Parameters.WritesLse ? ErrorMetrics.MaxLseError(lse, reference.Lse) : null;
        double tolerance = Tolerances.Cpu(Plan.Parameters.OutputType);
        bool pass = error < tolerance && (lseError is null || lseError < Tolerances.Lse);
        return new RunResult(Name, Target, Shape.ToString(), Plan.Parameters.InputType, Plan.Parameters.OutputType, seconds * 1e3,
            Plan.For(Shape).KeptFlops / seconds / 1e9, "GFLOP/s", error, tolerance, lseError, pass);
    }
}

/// <summary>The tensor-core kernel through the device Forward: the first call (JIT + load) timed, then one call with CUDA events.</summary>
internal sealed record GpuRun<T>(string Name, AttentionPlan Plan, AttentionShape Shape, TensorLayout Layout, DeviceForward<T> Forward)
    : SpecRun(Name, "GPU", Plan, Shape, Layout)
    where T : unmanaged
{
    public override RunResult Run(Random random)
    {
        var q = Random<T>(random, Shape.Batch * Shape.SeqQ * Shape.HeadsQ * Shape.HeadDim);
        var k = Random<T>(random, Shape.Batch * Shape.SeqKv * Shape.HeadsKv * Shape.HeadDim);
        var v = Random<T>(random, Shape.Batch * Shape.SeqKv * Shape.HeadsKv * Shape.ValueHeadDim);
        using var dq = DeviceTensor<T>.Create(Layout, Shape.Batch, Shape.SeqQ, Shape.HeadsQ, Shape.HeadDim);
        using var dk = DeviceTensor<T>.Create(Layout, Shape.Batch, Shape.SeqKv, Shape.HeadsKv, Shape.HeadDim);
        using var dv = DeviceTensor<T>.Create(Layout, Shape.Batch, Shape.SeqKv, Shape.HeadsKv, Shape.ValueHeadDim);
        using var dout = DeviceTensor<T>.Create(Layout, Shape.Batch, Shape.SeqQ, Shape.HeadsQ, Shape.ValueHeadDim);
        using var dlse = new DeviceBuffer<float>((long)Shape.Batch * Shape.HeadsQ * Shape.SeqQ);
        dq.Upload(q);
        dk.Upload(k);
        dv.Upload(v);
        dout.Fill(RandomTensors.FromFloat<T>(float.NaN));

        var first = Stopwatch.StartNew();
        Forward(dq, dk, dv, dout, dlse); // first call: PTX JIT + module load
        KernelDsl.Cuda.Cuda.Synchronize();
        double firstMs = first.Elapsed.TotalMilliseconds;
        dout.Fill(RandomTensors.FromFloat<T>(float.NaN));
        using var timer = new KernelDsl.Cuda.CudaTimer();
        timer.Start();
        Forward(dq, dk, dv, dout, dlse);
        timer.Stop();
        double ms = timer.ElapsedMilliseconds();

        var reference = AttentionReference.Compute<T>(q, k, v, Shape, Layout, Scale, Plan.Parameters.BandFor(Shape));
        double error = ErrorMetrics.RelativeError<T>(dout.ToArray(), reference.Output);
        double tolerance = Tolerances.Gpu(Plan.Parameters.InputType);
        return new RunResult(Name, Target, Shape.ToString(), Plan.Parameters.InputType, Plan.Parameters.OutputType, ms,
            Plan.For(Shape).KeptFlops / (ms * 1e-3) / 1e12, "TFLOP/s", error, tolerance, null, error < tolerance, firstMs);
    }
}
