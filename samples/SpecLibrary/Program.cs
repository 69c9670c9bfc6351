using System;
using System.Diagnostics;
using System.Globalization;
using KernelDsl;
using KernelDsl.Reference;
using KernelDsl.Samples.Library;

// Runs each library spec on fresh random inputs (seed printed) on the CPU, and on the GPU when there is one, and
// prints its error against the float64 reference that evaluates the same modifiers in double precision.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int seed = Environment.TickCount;
var random = new Random(seed);
bool gpu = KernelDsl.Cuda.Cuda.IsAvailable;
Console.WriteLine($"KernelDsl spec library — random seed {seed}; GPU: {(gpu ? KernelDsl.Cuda.Cuda.GetDevice().ToString() : "none (" + KernelDsl.Cuda.Cuda.UnavailableReason + ")")}");
var shape = new AttentionShape(2, 1000, 1000, 4, 2, 64, 64);

Run("SoftcapAttention (causal, 30·tanh(s/30))", SoftcapAttention.Plan,
    (q, k, v, o, lse) => SoftcapAttention.Forward(q, k, v, o, lse, shape),
    (q, k, v, o, lse) => SoftcapAttention.Forward(q, k, v, o, lse),
    SoftcapAttention.ScoreModifierReference, null);
Run($"PrefixLmAttention (bidirectional prefix of {PrefixLmAttention.Prefix}, then causal)", PrefixLmAttention.Plan,
    (q, k, v, o, lse) => PrefixLmAttention.Forward(q, k, v, o, lse, shape),
    (q, k, v, o, lse) => PrefixLmAttention.Forward(q, k, v, o, lse),
    null, PrefixLmAttention.MaskModifierReference);
Run($"SlidingWindowGlobalAttention (±{SlidingWindowGlobalAttention.Window}, {SlidingWindowGlobalAttention.GlobalTokens} global tokens)", SlidingWindowGlobalAttention.Plan,
    (q, k, v, o, lse) => SlidingWindowGlobalAttention.Forward(q, k, v, o, lse, shape),
    (q, k, v, o, lse) => SlidingWindowGlobalAttention.Forward(q, k, v, o, lse),
    null, SlidingWindowGlobalAttention.MaskModifierReference);
Run($"StridedSparseAttention (causal, local {StridedSparseAttention.Stride} + every {StridedSparseAttention.Stride}th key)", StridedSparseAttention.Plan,
    (q, k, v, o, lse) => StridedSparseAttention.Forward(q, k, v, o, lse, shape),
    (q, k, v, o, lse) => StridedSparseAttention.Forward(q, k, v, o, lse),
    null, StridedSparseAttention.MaskModifierReference);

// Captured buffers: per-head ALiBi slopes, a T5 bias table, document ids (with block masks on both devices).
var slopes = AlibiAttention.Slopes(shape.HeadsQ);
Run("AlibiAttention (causal, slopes captured per head)", AlibiAttention.Plan,
    (q, k, v, o, lse) => AlibiAttention.Forward(q, k, v, o, lse, slopes, shape),
    (q, k, v, o, lse) => { using var s = DeviceBuffer<float>.From(slopes); AlibiAttention.Forward(q, k, v, o, lse, s); KernelDsl.Cuda.Cuda.Synchronize(); },
    (x, b, h, q, kv) => AlibiAttention.ScoreModifierReference(x, b, h, q, kv, slopes), null);

var bias = new float[shape.HeadsQ * T5RelativeBiasAttention.Buckets];
for (int i = 0; i < bias.Length; i++)
{
    bias[i] = (float)((random.NextDouble() * 4) - 2);
}

Run("T5RelativeBiasAttention (32 buckets per head, random table)", T5RelativeBiasAttention.Plan,
    (q, k, v, o, lse) => T5RelativeBiasAttention.Forward(q, k, v, o, lse, bias, shape),
    (q, k, v, o, lse) => { using var t = DeviceBuffer<float>.From(bias); T5RelativeBiasAttention.Forward(q, k, v, o, lse, t); KernelDsl.Cuda.Cuda.Synchronize(); },
    (x, b, h, q, kv) => T5RelativeBiasAttention.ScoreModifierReference(x, b, h, q, kv, bias), null);

int[] lengths = [300, 50, 450, 200];
var documents = DocumentMaskAttention.DocumentIds(lengths);
var cpuMask = DocumentMaskAttention.CreateCpuBlockMask(shape, documents);
Console.WriteLine($"== DocumentMaskAttention block masks for documents {string.Join(" + ", lengths)}: CPU tiles {cpuMask.BlockQ}x{cpuMask.BlockKV} density {cpuMask.Density:P1}");
Console.Write(DocumentMaskAttention.Plan.For(shape, cpuMask));
Run("DocumentMaskAttention (4 packed documents, causal within each)", DocumentMaskAttention.Plan,
    (q, k, v, o, lse) => DocumentMaskAttention.Forward(q, k, v, o, lse, documents, shape, cpuMask),
    (q, k, v, o, lse) =>
    {
        using var ids = DeviceBuffer<int>.From(documents);
        using var mask = DocumentMaskAttention.CreateGpuBlockMask(shape, documents).ToDevice();
        DocumentMaskAttention.Forward(q, k, v, o, lse, ids, blockMask: mask);
        KernelDsl.Cuda.Cuda.Synchronize();
    },
    null, (b, h, q, kv) => DocumentMaskAttention.MaskModifierReference(b, h, q, kv, documents));
return 0;

void Run(
    string title,
    AttentionPlan plan,
    CpuForward cpu,
    GpuForward gpuForward,
    Func<double, int, int, int, int, double>? scoreMod,
    Func<int, int, int, int, bool>? maskMod)
{
    var q = RandomTensors.Uniform<BFloat16>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim, 1f);
    var k = RandomTensors.Uniform<BFloat16>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim, 1f);
    var v = RandomTensors.Uniform<BFloat16>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim, 1f);
    var reference = AttentionReference.Compute<BFloat16>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(shape.HeadDim), plan.Parameters.BandFor(shape), scoreMod, maskMod);
    Console.WriteLine($"== {title}: {shape}");

    var output = new BFloat16[shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim];
    var lse = new float[shape.Batch * shape.HeadsQ * shape.SeqQ];
    Array.Fill(output, (BFloat16)float.NaN);
    Array.Fill(lse, float.NaN);
    var timer = Stopwatch.StartNew();
    cpu(q, k, v, output, lse);
    Console.WriteLine($"   CPU: {timer.Elapsed.TotalMilliseconds:F1} ms (first call), relative error {ErrorMetrics.RelativeError<BFloat16>(output, reference.Output):E2}, LSE max error {ErrorMetrics.MaxLseError(lse, reference.Lse):E2}");

    if (gpu)
    {
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        using var dk = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        using var dv = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        using var dlse = new DeviceBuffer<float>(lse.Length);
        dq.Upload(q);
        dk.Upload(k);
        dv.Upload(v);
        dout.Fill((BFloat16)float.NaN);
        dlse.Fill(float.NaN);
        timer.Restart();
        gpuForward(dq, dk, dv, dout, dlse);
        KernelDsl.Cuda.Cuda.Synchronize();
        double firstMs = timer.Elapsed.TotalMilliseconds;
        Console.WriteLine($"   GPU: {firstMs:F1} ms (first call: JIT + load + run), relative error {ErrorMetrics.RelativeError<BFloat16>(dout.ToArray(), reference.Output):E2}, LSE max error {ErrorMetrics.MaxLseError(dlse.ToArray(), reference.Lse):E2}");
    }
}

internal delegate void CpuForward(ReadOnlySpan<BFloat16> q, ReadOnlySpan<BFloat16> k, ReadOnlySpan<BFloat16> v, Span<BFloat16> output, Span<float> lse);

internal delegate void GpuForward(DeviceTensor<BFloat16> q, DeviceTensor<BFloat16> k, DeviceTensor<BFloat16> v, DeviceTensor<BFloat16> output, DeviceBuffer<float> lse);
