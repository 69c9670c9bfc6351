using System;
using System.Diagnostics;
using KernelDsl;

namespace Bench;

// `dotnet run --project samples/Bench -c Release -- --backward`: the CPU backward against the CPU forward of the same
// spec on the same inputs, one process. Forward GFLOP/s = 4·B·H·S²·D / time; backward GFLOP/s = 2.5 × that FLOP count /
// time (FlashAttention's convention; our backward does 7 tile products against its 5, so it executes 3.5× the forward's).

[Attention(HeadDim = 128)]
[Backward]
internal static partial class Fp32D128Trainable;

[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
[Backward]
internal static partial class Bf16D128Trainable;

internal static class BackwardBench
{
    public static int Run()
    {
        const int Heads = 16, Dim = 128;
        Console.WriteLine("| dtype | D | S | forward ms | forward GFLOP/s | backward ms | backward GFLOP/s (2.5× fwd FLOPs) | backward / forward time |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (int seq in new[] { 1024, 2048 })
        {
            var shape = new AttentionShape(1, seq, seq, Heads, Heads, Dim, Dim);
            Measure("fp32", shape, x => x, (q, k, v, o, l, s) => Fp32D128Trainable.Forward(q, k, v, o, l, s),
                (q, k, v, o, l, dO, dq, dk, dv, s) => Fp32D128Trainable.Backward(q, k, v, o, l, dO, dq, dk, dv, s));
            Measure("bf16", shape, x => (BFloat16)x, (q, k, v, o, l, s) => Bf16D128Trainable.Forward(q, k, v, o, l, s),
                (q, k, v, o, l, dO, dq, dk, dv, s) => Bf16D128Trainable.Backward(q, k, v, o, l, dO, dq, dk, dv, s));
        }

        return 0;
    }

    private delegate void ForwardCall<T>(T[] q, T[] k, T[] v, T[] o, float[] lse, AttentionShape shape);

    private delegate void BackwardCall<T>(T[] q, T[] k, T[] v, T[] o, float[] lse, T[] dO, T[] dq, T[] dk, T[] dv, AttentionShape shape);

    private static void Measure<T>(string dtype, AttentionShape shape, Func<float, T> narrow, ForwardCall<T> forward, BackwardCall<T> backward)
        where T : unmanaged
    {
        var random = new Random(Environment.TickCount);
        int count = shape.SeqQ * shape.HeadsQ * shape.HeadDim;
        T[] Tensor()
        {
            var data = new T[count];
            for (int i = 0; i < count; i++)
            {
                data[i] = narrow((float)((random.NextDouble() * 2) - 1));
            }

            return data;
        }

        T[] q = Tensor(), k = Tensor(), v = Tensor(), dO = Tensor(), o = new T[count], dq = new T[count], dk = new T[count], dv = new T[count];
        var lse = new float[shape.HeadsQ * shape.SeqQ];
        double flops = 4.0 * shape.HeadsQ * shape.SeqQ * (double)shape.SeqKv * shape.HeadDim;
        double forwardTime = Median(() => forward(q, k, v, o, lse, shape));
        double backwardTime = Median(() => backward(q, k, v, o, lse, dO, dq, dk, dv, shape));
        Console.WriteLine($"| {dtype} | {shape.HeadDim} | {shape.SeqQ} | {forwardTime * 1e3:F1} | {flops / forwardTime / 1e9:F1} | {backwardTime * 1e3:F1} | {2.5 * flops / backwardTime / 1e9:F1} | {backwardTime / forwardTime:F2} |");
    }

    private static double Median(Action call)
    {
        call();
        var times = new double[5];
        for (int i = 0; i < times.Length; i++)
        {
            var timer = Stopwatch.StartNew();
            call();
            times[i] = timer.Elapsed.TotalSeconds;
        }

        Array.Sort(times);
        return times[times.Length / 2];
    }
}
