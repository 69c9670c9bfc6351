using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using KernelDsl;
using KernelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// <c>GpuBench --first-call OUT.json</c>: what the first call of a spec costs in a fresh process (issue 13, item 5).
/// Each case runs in its own child process (this executable with <c>--first-call-child N</c>) three times:
/// <list type="bullet">
/// <item><b>cold</b>: the driver's compute cache pointed at an empty folder (<c>CUDA_CACHE_PATH</c>), so the driver
/// JIT-compiles the PTX and writes the result into the cache — what a user's first run on a machine pays;</item>
/// <item><b>warm</b>: the same folder again, so the driver finds the compiled kernel — every later process;</item>
/// <item><b>no cache</b>: <c>CUDA_CACHE_DISABLE=1</c>, the JIT alone, without the cache write.</item>
/// </list>
/// The child times, with a Stopwatch and a device synchronisation after each call: context creation and the input
/// uploads (init), the first call (JIT or cache load + module load + one run) and the second call (the run alone);
/// "load" is first − second. Problems are small (B 1, H 16, S 256) so the run itself costs microseconds.
/// </summary>
internal static class FirstCall
{
    private const int B = 1;
    private const int H = 16;
    private const int S = 256;
    private const string ChildFlag = "--first-call-child";

    /// <summary>The cases: the grid's forward specs (the device's own family), one forced onto sm_80, one backward.</summary>
    private static readonly (string Name, int D, string? Family, Func<Random, Measurement> Measure)[] Cases =
    [
        ("forward D64 fp16 dense", 64, null, r => Forward<Half>(64, r, (q, k, v, o) => D64Fp16Dense.Forward(q, k, v, o))),
        ("forward D64 fp16 causal", 64, null, r => Forward<Half>(64, r, (q, k, v, o) => D64Fp16Causal.Forward(q, k, v, o))),
        ("forward D64 bf16 dense", 64, null, r => Forward<BFloat16>(64, r, (q, k, v, o) => D64Bf16Dense.Forward(q, k, v, o))),
        ("forward D128 fp16 dense", 128, null, r => Forward<Half>(128, r, (q, k, v, o) => D128Fp16Dense.Forward(q, k, v, o))),
        ("forward D128 bf16 causal", 128, null, r => Forward<BFloat16>(128, r, (q, k, v, o) => D128Bf16Causal.Forward(q, k, v, o))),
        ("forward D128 bf16 causal", 128, "sm80", r => Forward<BFloat16>(128, r, (q, k, v, o) => D128Bf16Causal.Forward(q, k, v, o))),
        ("backward D128 bf16 causal (3 kernels)", 128, null, Backward),
    ];

    private readonly record struct Measurement(double InitMs, double FirstMs, double SecondMs);

    public static bool IsChild(string[] args) => args.Length >= 2 && args[0] == ChildFlag;

    /// <summary>The child: measures case <c>args[1]</c> and prints one line "FIRSTCALL init first second" (ms).</summary>
    public static int RunChild(string[] args)
    {
        var (_, _, _, measure) = Cases[int.Parse(args[1], CultureInfo.InvariantCulture)];
        var m = measure(new Random(Environment.TickCount));
        Console.WriteLine(FormattableString.Invariant($"FIRSTCALL {m.InitMs:F3} {m.FirstMs:F3} {m.SecondMs:F3}"));
        return 0;
    }

    public static int Run(string outPath)
    {
        var device = Cuda.GetDevice();
        Console.WriteLine($"KernelDsl first-call benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"problem B {B} H {H} S {S}; each case in fresh processes: cold cache, warm cache, cache disabled");
        string root = Path.Combine(Path.GetTempPath(), $"kdsl-first-call-{Environment.ProcessId}");
        var rows = new List<Dictionary<string, object>>();
        try
        {
            for (int i = 0; i < Cases.Length; i++)
            {
                var (name, d, family, _) = Cases[i];
                string cache = Path.Combine(root, $"case{i}");
                Directory.CreateDirectory(cache);
                var cold = Child(i, family, cache, disableCache: false);
                var warm = Child(i, family, cache, disableCache: false);
                var none = Child(i, family, cache, disableCache: true);
                string label = family is null ? name : $"{name} [{family} forced]";
                Console.WriteLine(FormattableString.Invariant(
                    $"{label,-46} cold: load {cold.M.FirstMs - cold.M.SecondMs,8:F1} ms (process {cold.ProcessMs,6:F0} ms)   warm: load {warm.M.FirstMs - warm.M.SecondMs,7:F1} ms (process {warm.ProcessMs,6:F0} ms)   no cache: load {none.M.FirstMs - none.M.SecondMs,8:F1} ms   run {warm.M.SecondMs:F3} ms   init {warm.M.InitMs:F0} ms"));
                rows.Add(new Dictionary<string, object>
                {
                    ["name"] = label, ["head_dim"] = d, ["family"] = family ?? "auto",
                    ["cold_first_ms"] = cold.M.FirstMs, ["cold_second_ms"] = cold.M.SecondMs, ["cold_process_ms"] = cold.ProcessMs,
                    ["warm_first_ms"] = warm.M.FirstMs, ["warm_second_ms"] = warm.M.SecondMs, ["warm_process_ms"] = warm.ProcessMs,
                    ["nocache_first_ms"] = none.M.FirstMs, ["nocache_second_ms"] = none.M.SecondMs,
                    ["init_ms"] = warm.M.InitMs,
                });
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }

        var doc = new Dictionary<string, object>
        {
            ["device"] = device.ToString(), ["driver"] = Cuda.DriverVersionText, ["utc"] = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture),
            ["problem"] = $"B {B} H {H} S {S}", ["rows"] = rows,
        };
        File.WriteAllText(outPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }

    private static (Measurement M, double ProcessMs) Child(int index, string? family, string cache, bool disableCache)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new InvalidOperationException("no process path"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(ChildFlag);
        start.ArgumentList.Add(index.ToString(CultureInfo.InvariantCulture));
        start.Environment["CUDA_CACHE_PATH"] = cache;
        start.Environment["CUDA_CACHE_DISABLE"] = disableCache ? "1" : "0";
        if (family is not null)
        {
            start.Environment["KDSL_GPU_FAMILY"] = family;
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the child process");
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        double processMs = clock.Elapsed.TotalMilliseconds;
        string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("FIRSTCALL ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"first-call child {index} failed (exit {process.ExitCode}):\n{output}\n{errors}");
        }

        double[] v = line["FIRSTCALL ".Length..].Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (new Measurement(v[0], v[1], v[2]), processMs);
    }

    private static Measurement Forward<T>(int d, Random random, Action<DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>> forward)
        where T : unmanaged
    {
        var clock = Stopwatch.StartNew();
        var (q, k, v, o, dispose) = DeviceTiming.Allocate<T>(B, S, H, d, random);
        Cuda.Synchronize();
        double init = clock.Elapsed.TotalMilliseconds;
        var (tq, tk, tv, to) = ((DeviceTensor<T>)q, (DeviceTensor<T>)k, (DeviceTensor<T>)v, (DeviceTensor<T>)o);
        double first = Timed(() => forward(tq, tk, tv, to));
        double second = Timed(() => forward(tq, tk, tv, to));
        dispose();
        return new Measurement(init, first, second);
    }

    /// <summary>The backward's first call in its default (atomic-dQ) mode: its kernels (preprocess, dK/dV + dQ, dQ conversion); the forward before it is warm.</summary>
    private static Measurement Backward(Random random)
    {
        var clock = Stopwatch.StartNew();
        var (q, k, v, o, disposeInputs) = DeviceTiming.Allocate<BFloat16>(B, S, H, 128, random);
        var (dO, dq, dk, dv, disposeGradients) = DeviceTiming.Allocate<BFloat16>(B, S, H, 128, random);
        var lse = new DeviceBuffer<float>((long)B * H * S);
        var workspace = new DeviceBuffer<float>(BackwardLauncher.WorkspaceLength(B, H, S, 128, deterministic: false));
        Cuda.Synchronize();
        double init = clock.Elapsed.TotalMilliseconds;
        var (tq, tk, tv, to) = ((DeviceTensor<BFloat16>)q, (DeviceTensor<BFloat16>)k, (DeviceTensor<BFloat16>)v, (DeviceTensor<BFloat16>)o);
        var (tdO, tdq, tdk, tdv) = ((DeviceTensor<BFloat16>)dO, (DeviceTensor<BFloat16>)dq, (DeviceTensor<BFloat16>)dk, (DeviceTensor<BFloat16>)dv);
        Timed(() => BwdD128Bf16Causal.Forward(tq, tk, tv, to, lse));
        double first = Timed(() => BwdD128Bf16Causal.Backward(tq, tk, tv, to, lse, tdO, tdq, tdk, tdv, workspace: workspace));
        double second = Timed(() => BwdD128Bf16Causal.Backward(tq, tk, tv, to, lse, tdO, tdq, tdk, tdv, workspace: workspace));
        disposeInputs();
        disposeGradients();
        lse.Dispose();
        workspace.Dispose();
        return new Measurement(init, first, second);
    }

    private static double Timed(Action call)
    {
        var clock = Stopwatch.StartNew();
        call();
        Cuda.Synchronize();
        return clock.Elapsed.TotalMilliseconds;
    }
}
