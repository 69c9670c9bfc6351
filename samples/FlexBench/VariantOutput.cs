using System.Collections.Generic;
using System.Linq;
using KernelDsl.Samples;

namespace FlexBench;

/// <summary>
/// What FlexBench shows (the timing is Program.cs and DeviceTiming.cs): the table's columns, a measurement's name on
/// the progress bar, and the plot — TFLOP/s on kept pairs against sequence length, one line per variant and dtype —
/// written next to the JSON. samples/PlotResults draws the same rows against FlexAttention's.
/// </summary>
internal static class VariantOutput
{
    /// <summary>The JSON row keys in table order; the JSON itself is written as before (compare_variants.py reads it).</summary>
    public static readonly ResultColumn[] Columns =
    [
        new("variant"), new("dtype"), new("S"), new("B"), new("ms", Format: "F4"), new("tflops", "TFLOP/s", "F1"),
        new("first_call_ms", "first call ms", "F1"), new("block_density", "block density", "P1"),
    ];

    public static string Describe(string variant, string dtype, int s) => $"{variant} {dtype} S={s}";

    /// <summary>Writes the plot beside <paramref name="jsonPath"/> (same name, .svg) and says where, or why not.</summary>
    public static void Plot(BenchConsole console, string jsonPath, string device, IEnumerable<IReadOnlyDictionary<string, object>> rows)
    {
        var points = rows.Select(row => new PlotPoint($"{row["variant"]} {row["dtype"]}", (int)row["S"], (double)row["tflops"])).ToList();
        console.Line(ResultPlot.SaveBeside(jsonPath, $"KernelDsl variants, D = 128, H = 16, B·S = 16384 (TFLOP/s on kept pairs) — {device}",
            "sequence length", "TFLOP/s", points));
    }
}
