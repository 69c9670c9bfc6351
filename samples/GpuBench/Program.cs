using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using GpuBench;
using KernelDsl;
using KernelDsl.Cuda;

// Times every generated kernel of the grid with CUDA events (warm-up, then the median of timed groups) on fresh
// random inputs, and the first call of each spec (PTX JIT + module load + one run). Writes JSON for compare.py.
// Usage: GpuBench [output.json] [--quick]
//        GpuBench --small [output.json]   small calls: µs per call, host µs, bytes per call, graph replay (SmallCalls.cs)
//        GpuBench --backward [output.json] [--quick]   the GPU backward on the standard grid (BackwardBench.cs)
//        GpuBench --decode [output.json] [--quick]   paged decode steps: µs per step and K/V bandwidth (DecodeBench.cs)
//        GpuBench --decode --split-sweep [output.json]   bandwidth-bound decode shapes with the split count forced to 1..64
//        GpuBench --decode-append [output.json] [--quick]   fused rotary + append + decode vs the unfused launches and decode alone (DecodeAppendBench.cs)
//        GpuBench --varlen [output.json] [--quick]   varlen prefill vs the dense Forward at the same total tokens (VarlenBench.cs)
//        GpuBench --first-call [output.json]   a spec's first call in fresh processes, cold and warm JIT cache (FirstCall.cs)
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (FirstCall.IsChild(args))
{
    return FirstCall.RunChild(args);
}

if (args.Contains("--first-call"))
{
    if (!Cuda.IsAvailable)
    {
        Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
        return 1;
    }

    var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
    return FirstCall.Run(rest.Length > 0 ? rest[0] : "kerneldsl-first-call.json");
}

if (args.Contains("--varlen"))
{
    if (!Cuda.IsAvailable)
    {
        Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
        return 1;
    }

    var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
    return VarlenBench.Run(rest.Length > 0 ? rest[0] : "kerneldsl-varlen.json", args.Contains("--quick"));
}

if (args.Contains("--decode-append"))
{
    if (!Cuda.IsAvailable)
    {
        Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
        return 1;
    }

    var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
    return DecodeAppendBench.Run(rest.Length > 0 ? rest[0] : "kerneldsl-decode-append.json", args.Contains("--quick"));
}

if (args.Contains("--decode"))
{
    if (!Cuda.IsAvailable)
    {
        Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
        return 1;
    }

    var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
    if (args.Contains("--split-sweep"))
    {
        return DecodeBench.RunSplitSweep(rest.Length > 0 ? rest[0] : "kerneldsl-decode-sweep.json");
    }

    return DecodeBench.Run(rest.Length > 0 ? rest[0] : "kerneldsl-decode.json", args.Contains("--quick"));
}

var arguments = KernelDsl.Samples.BenchArguments.Parse(
    args,
    "GPU benchmark of the generated kernels on the standard grid (B·S = 16384, H·D = 2048, D in {64, 128}, fp16 and bf16, "
    + "causal and not), timed with CUDA events; writes JSON for compare.py and samples/PlotResults.",
    "Sequence lengths 1024 and 8192 only (default: 512 to 16384).",
    "Small-call benchmark instead: µs per call, host µs, bytes per call, graph replay.",
    out int exitCode,
    "The GPU backward instead (preprocess + dK/dV + dQ) on the standard grid: ms, TFLOP/s (2.5x the forward's FLOPs, halved for causal), and a forward + backward step.");
if (arguments is null)
{
    return exitCode;
}

bool small = arguments.Small;
string outPath = arguments.OutputPath ?? (small ? "kerneldsl-small.json" : arguments.Backward ? "kerneldsl-bwd.json" : "kerneldsl-gpu.json");
bool quick = arguments.Quick;
if (!Cuda.IsAvailable)
{
    Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
    return 1;
}

if (small)
{
    return SmallCalls.Run(outPath);
}

if (arguments.Backward)
{
    return BackwardBench.Run(outPath, quick);
}

var console = KernelDsl.Samples.BenchConsole.ForStandardOutput();
var device = Cuda.GetDevice();
console.Line($"KernelDsl GPU benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
int[] seqs = quick ? [1024, 8192] : [512, 1024, 2048, 4096, 8192, 16384];
var results = new List<Dictionary<string, object>>();
var specs = new (int D, string DType, bool Causal, Action<object, object, object, object> Forward)[]
{
    (64, "FP16", false, (q, k, v, o) => D64Fp16Dense.Forward((DeviceTensor<Half>)q, (DeviceTensor<Half>)k, (DeviceTensor<Half>)v, (DeviceTensor<Half>)o)),
    (64, "FP16", true, (q, k, v, o) => D64Fp16Causal.Forward((DeviceTensor<Half>)q, (DeviceTensor<Half>)k, (DeviceTensor<Half>)v, (DeviceTensor<Half>)o)),
    (64, "BF16", false, (q, k, v, o) => D64Bf16Dense.Forward((DeviceTensor<BFloat16>)q, (DeviceTensor<BFloat16>)k, (DeviceTensor<BFloat16>)v, (DeviceTensor<BFloat16>)o)),
    (64, "BF16", true, (q, k, v, o) => D64Bf16Causal.Forward((DeviceTensor<BFloat16>)q, (DeviceTensor<BFloat16>)k, (DeviceTensor<BFloat16>)v, (DeviceTensor<BFloat16>)o)),
    (128, "FP16", false, (q, k, v, o) => D128Fp16Dense.Forward((DeviceTensor<Half>)q, (DeviceTensor<Half>)k, (DeviceTensor<Half>)v, (DeviceTensor<Half>)o)),
    (128, "FP16", true, (q, k, v, o) => D128Fp16Causal.Forward((DeviceTensor<Half>)q, (DeviceTensor<Half>)k, (DeviceTensor<Half>)v, (DeviceTensor<Half>)o)),
    (128, "BF16", false, (q, k, v, o) => D128Bf16Dense.Forward((DeviceTensor<BFloat16>)q, (DeviceTensor<BFloat16>)k, (DeviceTensor<BFloat16>)v, (DeviceTensor<BFloat16>)o)),
    (128, "BF16", true, (q, k, v, o) => D128Bf16Causal.Forward((DeviceTensor<BFloat16>)q, (DeviceTensor<BFloat16>)k, (DeviceTensor<BFloat16>)v, (DeviceTensor<BFloat16>)o)),
};

var random = new Random(Environment.TickCount);
console.Run("standard grid", specs.Length * seqs.Length, progress =>
{
    foreach (var (d, dtype, causal, forward) in specs)
    {
        bool firstOfSpec = true;
        foreach (int s in seqs)
        {
            int b = 16384 / s, h = 2048 / d;
            progress.Starting(GridOutput.Describe(d, dtype, causal, s));
            var (q, k, v, o, dispose) = dtype == "FP16" ? DeviceTiming.Allocate<Half>(b, s, h, d, random) : DeviceTiming.Allocate<BFloat16>(b, s, h, d, random);
            double firstMs = double.NaN;
            if (firstOfSpec)
            {
                // First call of this spec in the process: PTX JIT + module load + one launch.
                var first = Stopwatch.StartNew();
                forward(q, k, v, o);
                Cuda.Synchronize();
                firstMs = first.Elapsed.TotalMilliseconds;
                firstOfSpec = false;
            }

            double ms = DeviceTiming.MedianMilliseconds(() => forward(q, k, v, o));
            double flops = 4.0 * b * h * s * (double)s * d / (causal ? 2 : 1);
            double tflops = flops / (ms * 1e-3) / 1e12;
            var row = new Dictionary<string, object> { ["D"] = d, ["dtype"] = dtype, ["causal"] = causal, ["S"] = s, ["B"] = b, ["H"] = h, ["ms"] = ms, ["tflops"] = tflops };
            if (!double.IsNaN(firstMs))
            {
                row["first_call_ms"] = firstMs;
            }

            results.Add(row);
            progress.Finished(KernelDsl.Samples.BenchConsole.RowLine(GridOutput.Columns, row));
            dispose();
        }
    }
});

File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), date = DateTime.UtcNow.ToString("yyyy-MM-dd"), results }, new JsonSerializerOptions { WriteIndented = true }));
console.Line($"wrote {outPath}");
console.Table($"KernelDsl forward on {device}", GridOutput.Columns, results);
GridOutput.Plot(console, outPath, device.Name, results);
return 0;
