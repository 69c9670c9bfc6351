using System;
using System.Diagnostics;
using System.Globalization;
using KernelDsl;
using KernelDsl.Reference;
using Quickstart;

// Runs each compiled spec on the CPU, checks it against the float64 reference and prints its plan.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int seed = Environment.TickCount;
var random = new Random(seed);
Console.WriteLine($"KernelDsl quickstart — CPU, {Environment.ProcessorCount} cores, random seed {seed}");
Console.WriteLine(KernelDsl.Cuda.Cuda.IsAvailable
    ? $"GPU: {KernelDsl.Cuda.Cuda.GetDevice()} — the 16-bit specs also run there"
    : $"GPU: none ({KernelDsl.Cuda.Cuda.UnavailableReason}) — CPU only");
Console.WriteLine();

Run("PlainBf16Attention", PlainBf16Attention.Plan, new AttentionShape(1, 512, 512, 8, 8, 128, 128), TensorLayout.BSHD,
    1 / Math.Sqrt(128), (q, k, v, o, lse, shape) => PlainBf16Attention.Forward(q, k, v, o, shape), ToBf16, ToBf16);

Run("CausalFp16Attention", CausalFp16Attention.Plan, new AttentionShape(2, 300, 700, 8, 8, 64, 64), TensorLayout.BSHD,
    1 / Math.Sqrt(64), (q, k, v, o, lse, shape) => CausalFp16Attention.Forward(q, k, v, o, lse, shape), x => (Half)x, x => (Half)x);

Run("SlidingWindowGqaAttention", SlidingWindowGqaAttention.Plan, new AttentionShape(1, 1000, 1000, 8, 2, 64, 64), TensorLayout.BHSD,
    1 / Math.Sqrt(64), (q, k, v, o, lse, shape) => SlidingWindowGqaAttention.Forward(q, k, v, o, shape), x => x, x => x);

void Run<TIn, TOut>(
    string name,
    AttentionPlan plan,
    AttentionShape shape,
    TensorLayout layout,
    double scale,
    ForwardCall<TIn, TOut> forward,
    Func<float, TIn> fromFloat,
    Func<float, TOut> poisonFrom,
    Func<double, int, int, int, int, double>? scoreMod = null,
    Func<int, int, int, int, bool>? maskMod = null)
    where TIn : unmanaged
    where TOut : unmanaged
{
    var q = Random(shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, fromFloat);
    var k = Random(shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, fromFloat);
    var v = Random(shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim, fromFloat);
    var output = new TOut[shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim];
    var lse = new float[shape.Batch * shape.HeadsQ * shape.SeqQ];
    Array.Fill(output, poisonFrom(float.NaN));

    forward(q, k, v, output, lse, shape); // warm-up (JIT)
    var times = new double[3];
    for (int run = 0; run < times.Length; run++)
    {
        Array.Fill(output, poisonFrom(float.NaN));
        var timer = Stopwatch.StartNew();
        forward(q, k, v, output, lse, shape);
        times[run] = timer.Elapsed.TotalSeconds;
    }

    Array.Sort(times);
    double seconds = times[1]; // median of three

    var band = plan.Parameters.BandFor(shape);
    var reference = AttentionReference.Compute<TIn>(q, k, v, shape, layout, scale, band, scoreMod, maskMod);
    double error = ErrorMetrics.RelativeError<TOut>(output, reference.Output);
    var estimate = plan.For(shape);

    Console.WriteLine($"== {name}: {shape}");
    Console.WriteLine($"   time {seconds * 1e3:F2} ms, {estimate.KeptFlops / seconds / 1e9:F1} GFLOP/s (kept pairs), relative error vs float64 reference {error:E2}");
    if (plan.Parameters.WritesLse)
    {
        Console.WriteLine($"   LSE max abs error {ErrorMetrics.MaxLseError(lse, reference.Lse):E2}");
    }

    Console.WriteLine();
    Console.Write(plan.Describe(shape));
    Console.WriteLine();
}

// The causal mask and the prefix-LM modifier are both applied; the reference evaluates the same modifiers in double.
Run("SoftcapPrefixLmAttention", SoftcapPrefixLmAttention.Plan, new AttentionShape(1, 700, 700, 4, 4, 64, 64), TensorLayout.BSHD,
    1 / Math.Sqrt(64), (q, k, v, o, lse, shape) => SoftcapPrefixLmAttention.Forward(q, k, v, o, shape), x => x, x => x,
    SoftcapPrefixLmAttention.ScoreModifierReference, SoftcapPrefixLmAttention.MaskModifierReference);

if (KernelDsl.Cuda.Cuda.IsAvailable)
{
    RunOnGpu("PlainBf16Attention", new AttentionShape(4, 1024, 1024, 16, 16, 128, 128), TensorLayout.BSHD, 1 / Math.Sqrt(128), MaskBand.None,
        (q, k, v, o, lse) => PlainBf16Attention.Forward(q, k, v, o), ToBf16);
    RunOnGpu("CausalFp16Attention", new AttentionShape(2, 300, 700, 8, 8, 64, 64), TensorLayout.BSHD, 1 / Math.Sqrt(64),
        CausalFp16Attention.Plan.Parameters.BandFor(new AttentionShape(2, 300, 700, 8, 8, 64, 64)),
        (q, k, v, o, lse) => CausalFp16Attention.Forward(q, k, v, o, lse!), x => (Half)x);
}

void RunOnGpu<T>(string name, AttentionShape shape, TensorLayout layout, double scale, MaskBand band, DeviceForward<T> forward, Func<float, T> fromFloat)
    where T : unmanaged
{
    var q = Random(shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, fromFloat);
    var k = Random(shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, fromFloat);
    var v = Random(shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim, fromFloat);
    using var dq = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
    using var dk = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
    using var dv = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
    using var dout = DeviceTensor<T>.Create(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
    using var dlse = new DeviceBuffer<float>((long)shape.Batch * shape.HeadsQ * shape.SeqQ);
    dq.Upload(q);
    dk.Upload(k);
    dv.Upload(v);
    dout.Fill(fromFloat(float.NaN));

    var first = Stopwatch.StartNew();
    forward(dq, dk, dv, dout, dlse); // first call: PTX JIT + module load
    KernelDsl.Cuda.Cuda.Synchronize();
    double firstMs = first.Elapsed.TotalMilliseconds;
    using var timer = new KernelDsl.Cuda.CudaTimer();
    timer.Start();
    forward(dq, dk, dv, dout, dlse);
    timer.Stop();
    double ms = timer.ElapsedMilliseconds();

    var reference = AttentionReference.Compute<T>(q, k, v, shape, layout, scale, band);
    double error = ErrorMetrics.RelativeError<T>(dout.ToArray(), reference.Output);
    double kept = 2.0 * (shape.HeadDim + shape.ValueHeadDim) * shape.Batch * shape.HeadsQ * CountKept(band, shape);
    Console.WriteLine($"== {name} on the GPU: {shape}");
    Console.WriteLine($"   first call {firstMs:F1} ms (JIT + load + run), then {ms:F3} ms = {kept / (ms * 1e-3) / 1e12:F1} TFLOP/s (kept pairs), relative error {error:E2}");
    Console.WriteLine();
}

static long CountKept(MaskBand band, AttentionShape shape)
{
    long kept = 0;
    for (int i = 0; i < shape.SeqQ; i++)
    {
        var (first, end) = band.KeyRange(i, i + 1, shape.SeqKv);
        kept += Math.Max(0, end - first);
    }

    return kept;
}

T[] Random<T>(int count, Func<float, T> fromFloat)
{
    var data = new T[count];
    for (int i = 0; i < count; i++)
    {
        data[i] = fromFloat((float)((random.NextDouble() * 2) - 1));
    }

    return data;
}

static BFloat16 ToBf16(float x) => (BFloat16)x;

delegate void DeviceForward<T>(DeviceTensor<T> q, DeviceTensor<T> k, DeviceTensor<T> v, DeviceTensor<T> output, DeviceBuffer<float>? lse)
    where T : unmanaged;

delegate void ForwardCall<TIn, TOut>(ReadOnlySpan<TIn> q, ReadOnlySpan<TIn> k, ReadOnlySpan<TIn> v, Span<TOut> output, Span<float> lse, AttentionShape shape);
