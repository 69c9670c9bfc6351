using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using KernelDsl;
using KernelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// <c>GpuBench --backward</c>: the generated device Backward of the grid's [Backward] specs on the standard grid
/// (B·S = 16384, H·D = 2048, D ∈ {64, 128}, fp16/bf16, causal and not, BHSD), timed as the forward is
/// (<see cref="DeviceTiming"/>), in both modes in the same run: the default atomic-dQ mode (preprocess, dK/dV + dQ by
/// red.global.add, dQ conversion; "ms", "tflops") and the deterministic mode (deterministic: true: preprocess, dK/dV, dQ;
/// "det_ms", "det_tflops"), with the cost of determinism as det_ms / ms ("det_cost"); plus one training step (Forward +
/// the default Backward). TFLOP/s count the backward as 2.5 × the forward's FLOPs (10·B·H·S²·D, halved for causal) — what
/// FlashAttention's papers and torch_backward.py count — in both modes, although the deterministic one executes 3.5 ×
/// (its dQ kernel recomputes S and dP). A reusable workspace (sized for the atomic mode) is passed, as a training loop would.
/// </summary>
internal static class BackwardBench
{
    private delegate void Forward<T>(DeviceTensor<T> q, DeviceTensor<T> k, DeviceTensor<T> v, DeviceTensor<T> o, DeviceBuffer<float> lse)
        where T : unmanaged;

    private delegate void Backward<T>(DeviceTensor<T> q, DeviceTensor<T> k, DeviceTensor<T> v, DeviceTensor<T> o, DeviceBuffer<float> lse,
        DeviceTensor<T> dO, DeviceTensor<T> dq, DeviceTensor<T> dk, DeviceTensor<T> dv, DeviceBuffer<float> workspace, bool? deterministic)
        where T : unmanaged;

    /// <summary>One shape's tensors: the backward alone (default atomic-dQ mode, and deterministic mode), a forward + backward step, and the cleanup.</summary>
    private sealed record Problem(Action Backward, Action DeterministicBackward, Action Step, Action Dispose);

    public static int Run(string outPath, bool quick)
    {
        var console = KernelDsl.Samples.BenchConsole.ForStandardOutput();
        var device = Cuda.GetDevice();
        console.Line($"KernelDsl GPU backward benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        int[] seqs = quick ? [1024, 8192] : [512, 1024, 2048, 4096, 8192, 16384];
        var specs = new (int D, string DType, bool Causal, Func<int, int, int, Random, Problem> Make)[]
        {
            (64, "FP16", false, (b, s, h, r) => Make<Half>(b, s, h, 64, r, (q, k, v, o, l) => BwdD64Fp16Dense.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD64Fp16Dense.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (64, "FP16", true, (b, s, h, r) => Make<Half>(b, s, h, 64, r, (q, k, v, o, l) => BwdD64Fp16Causal.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD64Fp16Causal.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (64, "BF16", false, (b, s, h, r) => Make<BFloat16>(b, s, h, 64, r, (q, k, v, o, l) => BwdD64Bf16Dense.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD64Bf16Dense.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (64, "BF16", true, (b, s, h, r) => Make<BFloat16>(b, s, h, 64, r, (q, k, v, o, l) => BwdD64Bf16Causal.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD64Bf16Causal.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (128, "FP16", false, (b, s, h, r) => Make<Half>(b, s, h, 128, r, (q, k, v, o, l) => BwdD128Fp16Dense.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD128Fp16Dense.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (128, "FP16", true, (b, s, h, r) => Make<Half>(b, s, h, 128, r, (q, k, v, o, l) => BwdD128Fp16Causal.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD128Fp16Causal.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (128, "BF16", false, (b, s, h, r) => Make<BFloat16>(b, s, h, 128, r, (q, k, v, o, l) => BwdD128Bf16Dense.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD128Bf16Dense.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
            (128, "BF16", true, (b, s, h, r) => Make<BFloat16>(b, s, h, 128, r, (q, k, v, o, l) => BwdD128Bf16Causal.Forward(q, k, v, o, l), (q, k, v, o, l, g, dq, dk, dv, w, det) => BwdD128Bf16Causal.Backward(q, k, v, o, l, g, dq, dk, dv, workspace: w, deterministic: det))),
        };

        var random = new Random(Environment.TickCount);
        var results = new List<Dictionary<string, object>>();
        console.Run("backward grid", specs.Length * seqs.Length, progress =>
        {
            foreach (var (d, dtype, causal, make) in specs)
            {
                bool firstOfSpec = true;
                foreach (int s in seqs)
                {
                    int b = 16384 / s, h = 2048 / d;
                    progress.Starting(GridOutput.Describe(d, dtype, causal, s));
                    var problem = make(b, s, h, random);
                    double firstMs = double.NaN;
                    if (firstOfSpec)
                    {
                        // First backward of this spec in the process (default mode): three PTX JITs + module loads + one run.
                        var first = Stopwatch.StartNew();
                        problem.Backward();
                        Cuda.Synchronize();
                        firstMs = first.Elapsed.TotalMilliseconds;
                        firstOfSpec = false;
                    }

                    // Both modes on the same tensors, back to back, so their ratio is the cost of determinism on this shape.
                    double ms = DeviceTiming.MedianMilliseconds(problem.Backward);
                    double detMs = DeviceTiming.MedianMilliseconds(problem.DeterministicBackward);
                    double stepMs = DeviceTiming.MedianMilliseconds(problem.Step);
                    double forwardFlops = 4.0 * b * h * s * (double)s * d / (causal ? 2 : 1);
                    double tflops = 2.5 * forwardFlops / (ms * 1e-3) / 1e12;
                    double detTflops = 2.5 * forwardFlops / (detMs * 1e-3) / 1e12;
                    double stepTflops = 3.5 * forwardFlops / (stepMs * 1e-3) / 1e12;
                    var row = new Dictionary<string, object>
                    {
                        ["D"] = d, ["dtype"] = dtype, ["causal"] = causal, ["S"] = s, ["B"] = b, ["H"] = h,
                        ["ms"] = ms, ["tflops"] = tflops, ["det_ms"] = detMs, ["det_tflops"] = detTflops, ["det_cost"] = detMs / ms,
                        ["step_ms"] = stepMs, ["step_tflops"] = stepTflops,
                    };
                    if (!double.IsNaN(firstMs))
                    {
                        row["first_call_ms"] = firstMs;
                    }

                    results.Add(row);
                    progress.Finished(KernelDsl.Samples.BenchConsole.RowLine(GridOutput.BackwardColumns, row));
                    problem.Dispose();
                }
            }
        });

        File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), date = DateTime.UtcNow.ToString("yyyy-MM-dd"), kind = "backward", results }, new JsonSerializerOptions { WriteIndented = true }));
        console.Line($"wrote {outPath}");
        console.Table($"KernelDsl backward on {device} (ms/TFLOP/s: atomic-dQ mode, the default; det: deterministic mode; det cost = det ms / ms)", GridOutput.BackwardColumns, results);
        var costs = results.ConvertAll(r => (double)r["det_cost"]);
        console.Line(System.FormattableString.Invariant($"Cost of determinism (deterministic ms / atomic-dQ ms, same run): geometric mean {Math.Exp(costs.ConvertAll(Math.Log).Sum() / costs.Count):F3}, range {costs.Min():F3}-{costs.Max():F3} over {costs.Count} shapes"));
        GridOutput.Plot(console, outPath, device.Name, results, kernel: "backward");
        return 0;
    }

    /// <summary>BHSD q, k, v, dO uniform in [−1, 1); O and LSE from one Forward; gradients and a reusable workspace.</summary>
    private static Problem Make<T>(int b, int s, int h, int d, Random random, Forward<T> forward, Backward<T> backward)
        where T : unmanaged
    {
        var (q, k, v, o, disposeInputs) = DeviceTiming.Allocate<T>(b, s, h, d, random);
        var (dO, dq, dk, dv, disposeGradients) = DeviceTiming.Allocate<T>(b, s, h, d, random);
        var (tq, tk, tv, to, tdO, tdq, tdk, tdv) = ((DeviceTensor<T>)q, (DeviceTensor<T>)k, (DeviceTensor<T>)v, (DeviceTensor<T>)o,
            (DeviceTensor<T>)dO, (DeviceTensor<T>)dq, (DeviceTensor<T>)dk, (DeviceTensor<T>)dv);
        var lse = new DeviceBuffer<float>((long)b * h * s);
        var workspace = new DeviceBuffer<float>(BackwardLauncher.WorkspaceLength(b, h, s, d, deterministic: false));
        forward(tq, tk, tv, to, lse);
        return new Problem(
            () => backward(tq, tk, tv, to, lse, tdO, tdq, tdk, tdv, workspace, null),
            () => backward(tq, tk, tv, to, lse, tdO, tdq, tdk, tdv, workspace, true),
            () =>
            {
                forward(tq, tk, tv, to, lse);
                backward(tq, tk, tv, to, lse, tdO, tdq, tdk, tdv, workspace, null);
            },
            () =>
            {
                disposeInputs();
                disposeGradients();
                lse.Dispose();
                workspace.Dispose();
            });
    }
}
