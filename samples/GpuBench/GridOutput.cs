using System.Collections.Generic;
using System.Linq;
using KernelDsl.Samples;

namespace GpuBench;

/// <summary>
/// What GpuBench shows of the standard grid (the timing is Program.cs and DeviceTiming.cs): the table's columns, a
/// measurement's name on the progress bar, and the plot — TFLOP/s against sequence length, one line per configuration
/// (D, dtype, causal) — written next to the JSON; for the forward grid and for --backward (BackwardBench.cs).
/// samples/PlotResults draws the forward rows against the PyTorch anchors.
/// </summary>
internal static class GridOutput
{
    /// <summary>The JSON row keys in table order; the JSON itself is written as before (compare*.py read it).</summary>
    public static readonly ResultColumn[] Columns =
    [
        new("D"), new("dtype"), new("causal"), new("S"), new("B"), new("H"),
        new("ms", Format: "F4"), new("tflops", "TFLOP/s", "F1"), new("first_call_ms", "first call ms", "F1"),
    ];

    /// <summary>GpuBench --backward's rows (BackwardBench.cs): the backward alone and a forward + backward step.</summary>
    public static readonly ResultColumn[] BackwardColumns =
    [
        new("D"), new("dtype"), new("causal"), new("S"), new("B"), new("H"),
        new("ms", "bwd ms", "F4"), new("tflops", "TFLOP/s", "F1"), new("det_ms", "det ms", "F4"), new("det_tflops", "det TFLOP/s", "F1"),
        new("det_cost", "det cost", "F3"), new("step_ms", "step ms", "F4"), new("step_tflops", "step TFLOP/s", "F1"),
        new("first_call_ms", "first call ms", "F1"),
    ];

    public static string Describe(int d, string dtype, bool causal, int s) => $"D={d} {dtype} {(causal ? "causal" : "dense")} S={s}";

    public static string Series(IReadOnlyDictionary<string, object> row) =>
        $"D={row["D"]} {row["dtype"]} {((bool)row["causal"] ? "causal" : "dense")}";

    /// <summary>Writes the plot beside <paramref name="jsonPath"/> (same name, .svg) and says where, or why not.</summary>
    public static void Plot(BenchConsole console, string jsonPath, string device, IEnumerable<IReadOnlyDictionary<string, object>> rows, string kernel = "forward")
    {
        var points = rows.Select(row => new PlotPoint(Series(row), (int)row["S"], (double)row["tflops"])).ToList();
        console.Line(ResultPlot.SaveBeside(jsonPath, $"KernelDsl {kernel}, B·S = 16384, H·D = 2048 — {device}", "sequence length", "TFLOP/s", points));
    }
}
